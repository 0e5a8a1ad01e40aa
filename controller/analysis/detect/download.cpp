#include "analysis/detect/download.h"

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>

namespace botscope::analysis::detect {

namespace {

bool iends_with(std::string_view s, std::string_view suffix) {
    if (s.size() < suffix.size())
        return false;
    s = s.substr(s.size() - suffix.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
        if (c != suffix[i])
            return false;
    }
    return true;
}

bool executable_name(std::string_view name) {
    for (std::string_view ext : {".exe", ".dll", ".scr", ".com", ".bat", ".pif"})
        if (iends_with(name, ext))
            return true;
    return false;
}

bool executable_kind(std::string_view kind) {
    return kind == "pe" || kind == "mz" || kind == "elf";
}

/// An address for a URL: IPv6 in brackets, the port unless it is the protocol's own.
std::string authority(const Endpoint& ep, std::uint16_t default_port) {
    std::string out = ep.addr.v6 ? "[" + ep.addr.to_string() + "]" : ep.addr.to_string();
    if (ep.port != default_port)
        out += ":" + std::to_string(ep.port);
    return out;
}

/// `name` after `base/`, without doubling a leading slash.
std::string join(std::string base, std::string_view name) {
    base += '/';
    if (!name.empty() && name.front() == '/')
        name.remove_prefix(1);
    base += name;
    return base;
}

/// The last path segment of a request target, query and fragment cut.
std::string last_segment(std::string_view target) {
    auto cut = target.find_first_of("?#");
    if (cut != std::string_view::npos)
        target = target.substr(0, cut);
    auto slash = target.rfind('/');
    return std::string(slash == std::string_view::npos ? target : target.substr(slash + 1));
}

void set_hashes(Download& d, bool complete, const std::string& md5, const std::string& sha256) {
    // Digests of a partial file name nothing anyone else has; report them only when whole.
    d.complete = complete && !md5.empty() && !sha256.empty();
    if (d.complete) {
        d.md5 = md5;
        d.sha256 = sha256;
    }
}

}  // namespace

std::optional<Download> http_download(const http::HttpTransaction& t) {
    if (!t.has_response || t.response_body.executable == http::ExecutableKind::kNone)
        return std::nullopt;
    Download d;
    d.protocol = "http";
    d.ts = t.has_request ? t.request_ts : t.response_ts;
    d.flow = t.flow;
    d.client = t.client;
    d.server = t.server;
    const bool absolute =
        t.uri.find("://") != std::string::npos && t.uri.find('/') > t.uri.find("://");
    if (absolute)
        d.url = t.uri;
    else
        d.url = "http://" + (t.host.empty() ? authority(t.server, 80) : t.host) + t.uri;
    d.name = last_segment(t.uri);
    d.kind = http::executable_kind_name(t.response_body.executable);
    d.size = t.response_body.length;
    set_hashes(d, t.response_body.complete(), t.response_body.md5, t.response_body.sha256);
    return d;
}

std::optional<Download> tftp_download(const tftp::TftpTransfer& t) {
    if (t.operation != tftp::Operation::kRead || !executable_kind(t.file_kind))
        return std::nullopt;
    Download d;
    d.protocol = "tftp";
    d.ts = t.ts;
    d.flow = t.data_flow.value_or(t.request_flow);
    d.client = t.client;
    d.server = t.server;
    d.url = join("tftp://" + authority(t.server, 69), t.filename);
    d.name = t.filename;
    d.kind = t.file_kind;
    d.size = t.bytes;
    set_hashes(d, t.hash_complete, t.md5, t.sha256);
    return d;
}

DownloadKey download_key(const Download& d) {
    return {d.protocol, d.url, d.client.addr, d.server,  d.kind,
            d.size,     d.md5, d.sha256,      d.complete};
}

void DownloadCollector::add(std::optional<Download> d) {
    if (!d)
        return;
    if (list.size() < kMaxFindings) {
        repeats.try_emplace(download_key(*d));
        list.push_back(std::move(*d));
        return;
    }
    auto it = repeats.find(download_key(*d));
    if (it == repeats.end()) {
        ++dropped;
        return;
    }
    DownloadRepeats& r = it->second;
    ++r.count;
    r.last_ts = std::max(r.last_ts, d->ts);
    if (r.flows.size() < kMaxEvidenceFlows)
        r.flows.push_back(d->flow);
}

namespace {

bool is_retr(std::string_view command) {
    return command.size() == 4 && iends_with(command, "retr");
}

void ftp_downloads(const ftp::FtpResult& ftp, std::vector<Download>& out) {
    for (const auto& s : ftp.sessions) {
        for (const auto& t : s.transfers) {
            if (t.listing || !is_retr(t.command))
                continue;
            const bool captured = t.data_flow.has_value();
            // The content decides when it was seen; the name only when it was not (no data
            // connection, or one whose start was lost), and not for a refused RETR.
            const bool by_content = captured && executable_kind(t.file_kind);
            const bool content_unknown = !captured || (t.file_kind.empty() && !t.data_complete);
            const bool by_name = content_unknown && executable_name(t.name) && t.reply < 400;
            if (!by_content && !by_name)
                continue;
            Download d;
            d.protocol = "ftp";
            d.ts = t.ts;
            d.flow = captured ? *t.data_flow : s.flow;
            d.client = s.orig;
            d.server = s.resp;
            d.url = join("ftp://" + authority(s.resp, 21), t.name);
            d.name = t.name;
            if (captured) {
                d.kind = t.file_kind;
                d.size = t.data_bytes;
                set_hashes(d, by_content && t.data_complete, t.md5, t.sha256);
            }
            out.push_back(std::move(d));
        }
    }
}

void dcc_downloads(const NetworkResult& net, std::vector<Download>& out) {
    for (const auto& d : net.data_streams.list) {
        if (d.service != "irc-dcc" || !executable_kind(d.kind))
            continue;
        Download dl;
        dl.protocol = "dcc";
        dl.ts = d.start;
        dl.flow = d.flow;
        // The side that sent the file is the offerer; the other received it.
        bool resp_sent = d.content == Direction::kResp;
        dl.client = resp_sent ? d.orig : d.resp;
        dl.server = resp_sent ? d.resp : d.orig;
        for (const auto& s : net.irc.sessions)
            for (const auto& offer : s.dcc)
                if (offer.addr == d.resp.addr && offer.port == d.resp.port && dl.name.empty())
                    dl.name = offer.argument;
        dl.url = join("dcc://" + authority(dl.server, 0), dl.name);
        dl.kind = d.kind;
        dl.size = d.size;
        set_hashes(dl, !d.gap && d.closed, d.md5, d.sha256);
        out.push_back(std::move(dl));
    }
}

}  // namespace

std::vector<Download> find_downloads(const NetworkResult& net, DownloadCollector& collected,
                                     std::uint64_t& dropped) {
    std::vector<Download> out = std::move(collected.list);
    collected.list.clear();
    dropped += collected.dropped;
    ftp_downloads(net.ftp, out);
    dcc_downloads(net, out);
    std::stable_sort(out.begin(), out.end(), [](const Download& a, const Download& b) {
        return std::tie(a.ts, a.flow, a.url) < std::tie(b.ts, b.flow, b.url);
    });
    if (out.size() > kMaxFindings) {
        dropped += out.size() - kMaxFindings;
        out.resize(kMaxFindings);
    }
    return out;
}

namespace {

void add_flow(Evidence& e, FlowId flow) {
    if (e.flows.size() < kMaxEvidenceFlows)
        e.flows.push_back(flow);
    ++e.flows_total;
}

}  // namespace

void group_downloads(BehaviorResult& b, const DownloadCollector& collected) {
    std::vector<Download> groups;
    std::map<DownloadKey, std::size_t> group_of;
    std::vector<std::size_t> moved(b.downloads.size());
    for (std::size_t i = 0; i < b.downloads.size(); ++i) {
        Download& d = b.downloads[i];
        auto [it, fresh] = group_of.try_emplace(download_key(d), groups.size());
        moved[i] = it->second;
        if (fresh) {
            d.last_ts = d.ts;
            d.count = 1;
            d.evidence = {};
            add_flow(d.evidence, d.flow);
            groups.push_back(std::move(d));
            continue;
        }
        Download& g = groups[it->second];
        ++g.count;
        g.last_ts = std::max(g.last_ts, d.ts);
        add_flow(g.evidence, d.flow);
        if (!g.command)
            g.command = d.command;
    }
    for (const auto& [key, r] : collected.repeats) {
        if (r.count == 0)
            continue;
        auto it = group_of.find(key);
        if (it == group_of.end()) {
            b.dropped += r.count;
            continue;
        }
        Download& g = groups[it->second];
        g.count += r.count;
        g.last_ts = std::max(g.last_ts, r.last_ts);
        for (FlowId f : r.flows)
            if (g.evidence.flows.size() < kMaxEvidenceFlows)
                g.evidence.flows.push_back(f);
        g.evidence.flows_total += r.count;
    }
    // A command followed by several transfers of one file keeps one reference to its entry.
    for (auto& c : b.commands) {
        std::vector<BehaviorRef> refs;
        std::map<std::size_t, std::size_t> ref_of;  // entry -> its place in refs
        for (auto& ref : c.followed_by) {
            ref.last_delay = ref.delay;
            if (ref.section != "downloads") {
                refs.push_back(std::move(ref));
                continue;
            }
            ref.index = moved.at(ref.index);
            auto [it, fresh] = ref_of.try_emplace(ref.index, refs.size());
            if (fresh) {
                refs.push_back(std::move(ref));
                continue;
            }
            BehaviorRef& first = refs[it->second];
            ++first.count;
            first.delay = std::min(first.delay, ref.delay);
            first.last_delay = std::max(first.last_delay, ref.delay);
            first.target_matched = first.target_matched || ref.target_matched;
        }
        c.followed_by = std::move(refs);
    }
    b.downloads = std::move(groups);
}

}  // namespace botscope::analysis::detect
