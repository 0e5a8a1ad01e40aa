#pragma once
// The indicators of ioc.h written for other tools, one file per format: ioc_csv.cpp,
// ioc_json.cpp, ioc_stix.cpp, ioc_zeek.cpp. Each gives the same bytes for the same reports.

#include <string>
#include <string_view>

#include "review/ioc.h"

namespace botscope::review {

/// RFC 4180: a header line, then one row per indicator and one per cluster (type `cluster`).
/// Columns: type, value, protocol, first_seen, last_seen, samples, clusters, families, context.
std::string ioc_csv(const IocSet& set);

/// {"schema": "botscope.ioc/1", "reports", "since", "indicators", "samples", "clusters"}.
std::string ioc_json(const IocSet& set);

/// A STIX 2.1 bundle: an indicator per C&C endpoint, C&C name, URL and hash; malware per sample
/// and per family; infrastructure per C&C (command-and-control) and per cluster (botnet); and
/// the relationships between them. Identifiers are UUIDv5 of what each object stands for.
std::string ioc_stix(const IocSet& set);

/// A file for Zeek's Intel framework (Intel::read_files): C&C addresses (Intel::ADDR) and names
/// (Intel::DOMAIN), http URLs (Intel::URL, without "http://" as Zeek sees them) and hashes
/// (Intel::FILE_HASH), each with meta.source "botscope" and what botscope knows in meta.desc.
std::string ioc_zeek_intel(const IocSet& set);

/// RFC 9562 name-based UUID (version 5, SHA-1) of `name` in botscope's STIX namespace
/// (3d63dbc0-94d2-5e44-b66d-69548c33af9f, itself the UUIDv5 of
/// "https://botscope.invalid/stix/2.1" in the URL namespace).
std::string stix_uuid(std::string_view name);

}  // namespace botscope::review
