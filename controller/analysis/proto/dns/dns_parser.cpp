#include "analysis/proto/dns/dns_parser.h"

#include <array>
#include <utility>

#include "util/byte_reader.h"

namespace botscope::analysis::dns {

namespace {

using util::ByteReader;

struct Mnemonic {
    std::uint16_t value;
    const char* name;
};

// IANA "Resource Record (RR) TYPEs"; the obsolete and experimental ones a capture might still
// show are kept so they render by name.
constexpr std::array kTypeNames = {
    Mnemonic{1, "A"},       Mnemonic{2, "NS"},        Mnemonic{3, "MD"},
    Mnemonic{4, "MF"},      Mnemonic{5, "CNAME"},     Mnemonic{6, "SOA"},
    Mnemonic{7, "MB"},      Mnemonic{8, "MG"},        Mnemonic{9, "MR"},
    Mnemonic{10, "NULL"},   Mnemonic{11, "WKS"},      Mnemonic{12, "PTR"},
    Mnemonic{13, "HINFO"},  Mnemonic{14, "MINFO"},    Mnemonic{15, "MX"},
    Mnemonic{16, "TXT"},    Mnemonic{17, "RP"},       Mnemonic{18, "AFSDB"},
    Mnemonic{19, "X25"},    Mnemonic{20, "ISDN"},     Mnemonic{21, "RT"},
    Mnemonic{22, "NSAP"},   Mnemonic{23, "NSAP-PTR"}, Mnemonic{24, "SIG"},
    Mnemonic{25, "KEY"},    Mnemonic{26, "PX"},       Mnemonic{27, "GPOS"},
    Mnemonic{28, "AAAA"},   Mnemonic{29, "LOC"},      Mnemonic{30, "NXT"},
    Mnemonic{31, "EID"},    Mnemonic{32, "NIMLOC"},   Mnemonic{33, "SRV"},
    Mnemonic{34, "ATMA"},   Mnemonic{35, "NAPTR"},    Mnemonic{36, "KX"},
    Mnemonic{37, "CERT"},   Mnemonic{38, "A6"},       Mnemonic{39, "DNAME"},
    Mnemonic{40, "SINK"},   Mnemonic{41, "OPT"},      Mnemonic{42, "APL"},
    Mnemonic{43, "DS"},     Mnemonic{44, "SSHFP"},    Mnemonic{45, "IPSECKEY"},
    Mnemonic{46, "RRSIG"},  Mnemonic{47, "NSEC"},     Mnemonic{48, "DNSKEY"},
    Mnemonic{49, "DHCID"},  Mnemonic{50, "NSEC3"},    Mnemonic{51, "NSEC3PARAM"},
    Mnemonic{52, "TLSA"},   Mnemonic{53, "SMIMEA"},   Mnemonic{55, "HIP"},
    Mnemonic{59, "CDS"},    Mnemonic{60, "CDNSKEY"},  Mnemonic{61, "OPENPGPKEY"},
    Mnemonic{62, "CSYNC"},  Mnemonic{63, "ZONEMD"},   Mnemonic{64, "SVCB"},
    Mnemonic{65, "HTTPS"},  Mnemonic{99, "SPF"},      Mnemonic{249, "TKEY"},
    Mnemonic{250, "TSIG"},  Mnemonic{251, "IXFR"},    Mnemonic{252, "AXFR"},
    Mnemonic{253, "MAILB"}, Mnemonic{254, "MAILA"},   Mnemonic{255, "ANY"},
    Mnemonic{256, "URI"},   Mnemonic{257, "CAA"},     Mnemonic{32768, "TA"},
    Mnemonic{32769, "DLV"},
};

constexpr std::array kClassNames = {
    Mnemonic{1, "IN"},     Mnemonic{3, "CH"},    Mnemonic{4, "HS"},
    Mnemonic{254, "NONE"}, Mnemonic{255, "ANY"},
};

constexpr std::array kRcodeNames = {
    Mnemonic{0, "NOERROR"},  Mnemonic{1, "FORMERR"},  Mnemonic{2, "SERVFAIL"},
    Mnemonic{3, "NXDOMAIN"}, Mnemonic{4, "NOTIMP"},   Mnemonic{5, "REFUSED"},
    Mnemonic{6, "YXDOMAIN"}, Mnemonic{7, "YXRRSET"},  Mnemonic{8, "NXRRSET"},
    Mnemonic{9, "NOTAUTH"},  Mnemonic{10, "NOTZONE"},
};

constexpr std::array kOpcodeNames = {
    Mnemonic{0, "QUERY"},  Mnemonic{1, "IQUERY"}, Mnemonic{2, "STATUS"},
    Mnemonic{4, "NOTIFY"}, Mnemonic{5, "UPDATE"}, Mnemonic{6, "DSO"},
};

template <std::size_t N>
const char* lookup(const std::array<Mnemonic, N>& table, std::uint16_t value) {
    for (const auto& m : table)
        if (m.value == value)
            return m.name;
    return nullptr;
}

template <std::size_t N>
std::string name_or(const std::array<Mnemonic, N>& table, std::uint16_t value, const char* prefix) {
    if (const char* n = lookup(table, value))
        return n;
    return std::string(prefix) + std::to_string(value);
}

bool printable(std::uint8_t b) {
    return b >= 0x21 && b <= 0x7e;
}

void append_decimal_escape(std::string& out, std::uint8_t b) {
    out += '\\';
    out += static_cast<char>('0' + b / 100);
    out += static_cast<char>('0' + (b / 10) % 10);
    out += static_cast<char>('0' + b % 10);
}

// One label in presentation form (RFC 1035 5.1 escapes), so a '.' inside a label cannot be
// mistaken for a separator and control bytes cannot reach a terminal unescaped.
std::string escape_label(std::span<const std::uint8_t> label) {
    std::string out;
    out.reserve(label.size());
    for (std::uint8_t b : label) {
        if (b == '.' || b == '\\') {
            out += '\\';
            out += static_cast<char>(b);
        } else if (printable(b)) {
            out += static_cast<char>(b);
        } else {
            append_decimal_escape(out, b);
        }
    }
    return out;
}

// Appends to rendered rdata without ever growing it past kMaxRdataText.
void append_capped(std::string& out, std::string_view s) {
    if (out.size() >= kMaxRdataText)
        return;
    out.append(s.substr(0, kMaxRdataText - out.size()));
}

std::string hex_byte(std::uint8_t b) {
    static constexpr char kDigits[] = "0123456789abcdef";
    return {kDigits[b >> 4], kDigits[b & 0x0f]};
}

// RFC 3597 generic form, shortened: `\# <len> <hex of the first kMaxHexBytes>...`.
std::string generic_rdata(std::span<const std::uint8_t> rdata) {
    std::string out = "\\# " + std::to_string(rdata.size());
    if (rdata.empty())
        return out;
    out += ' ';
    std::size_t shown = rdata.size() < kMaxHexBytes ? rdata.size() : kMaxHexBytes;
    for (std::size_t i = 0; i < shown; ++i)
        out += hex_byte(rdata[i]);
    if (shown < rdata.size())
        out += "...";
    return out;
}

// A <character-string> (RFC 1035 3.3) quoted, with '"' and '\' escaped.
bool read_char_string(ByteReader& r, std::string& out) {
    std::uint8_t len = r.u8();
    auto bytes = r.bytes(len);
    if (!r.ok())
        return false;
    std::string s = "\"";
    for (std::uint8_t b : bytes) {
        if (b == '"' || b == '\\') {
            s += '\\';
            s += static_cast<char>(b);
        } else if (printable(b) || b == ' ') {
            s += static_cast<char>(b);
        } else {
            append_decimal_escape(s, b);
        }
        if (s.size() > kMaxRdataText)
            break;
    }
    s += '"';
    if (!out.empty())
        append_capped(out, " ");
    append_capped(out, s);
    return true;
}

// Reads a name inside rdata whose in-place bytes must end by `end`. Returns false when they do
// not; the name's issues are added to the record either way.
bool read_rdata_name(std::span<const std::uint8_t> msg, ByteReader& r, std::size_t end,
                     DnsRecord& rec, std::string& out) {
    ParsedName n = read_name(msg, r.offset());
    rec.name_issues |= n.issues;
    if (!n.found_end || n.end > end)
        return false;
    r.seek(n.end);
    if (!out.empty())
        append_capped(out, " ");
    append_capped(out, n.text);
    return true;
}

void append_number(std::string& out, std::uint64_t v) {
    if (!out.empty())
        append_capped(out, " ");
    append_capped(out, std::to_string(v));
}

}  // namespace

const char* section_name(Section s) {
    switch (s) {
        case Section::kAnswer:
            return "answer";
        case Section::kAuthority:
            return "authority";
        case Section::kAdditional:
            return "additional";
    }
    return "answer";
}

std::string type_name(std::uint16_t type) {
    return name_or(kTypeNames, type, "TYPE");
}
std::string class_name(std::uint16_t cls) {
    return name_or(kClassNames, cls, "CLASS");
}
std::string rcode_name(std::uint8_t rcode) {
    return name_or(kRcodeNames, rcode, "RCODE");
}
std::string opcode_name(std::uint8_t opcode) {
    return name_or(kOpcodeNames, opcode, "OPCODE");
}
bool known_type(std::uint16_t type) {
    return lookup(kTypeNames, type) != nullptr;
}

ParsedName read_name(std::span<const std::uint8_t> msg, std::size_t offset) {
    ParsedName r;
    std::size_t pos = offset;
    // Every pointer must land strictly before the lowest offset read so far for this name.
    // The lowest offset then strictly decreases, so no walk can revisit a byte through a
    // pointer: loops and forward references are both refused.
    std::size_t lowest = offset;
    std::size_t hops = 0;
    bool jumped = false;
    bool text_full = false;

    while (true) {
        if (pos >= msg.size()) {
            if (jumped)
                r.issues |= kBadPointer;
            break;
        }
        const std::uint8_t len = msg[pos];
        const std::uint8_t kind = len & 0xC0;
        if (kind == 0xC0) {
            if (msg.size() - pos < 2) {
                if (jumped)
                    r.issues |= kBadPointer;
                break;
            }
            const std::size_t target = (std::size_t{len & 0x3Fu} << 8) | msg[pos + 1];
            if (!jumped) {
                r.end = pos + 2;
                r.found_end = true;
                jumped = true;
            }
            if (++hops > kMaxPointerHops) {
                r.issues |= kTooManyPointers;
                break;
            }
            if (target < kHeaderSize || target >= msg.size()) {
                r.issues |= kBadPointer;
                break;
            }
            if (target >= lowest) {
                r.issues |= kPointerLoop;
                break;
            }
            lowest = target;
            pos = target;
            continue;
        }
        if (kind != 0) {
            r.issues |= kBadLabelType;
            break;
        }
        if (len == 0) {
            if (!jumped) {
                r.end = pos + 1;
                r.found_end = true;
            }
            if (r.labels == 0)
                r.text = ".";
            break;
        }
        if (len > msg.size() - pos - 1) {
            if (jumped)
                r.issues |= kBadPointer;
            break;
        }
        ++r.labels;
        if (r.labels > kMaxLabels) {
            r.issues |= kTooManyLabels;
            text_full = true;
        }
        if (!text_full) {
            std::string label = escape_label(msg.subspan(pos + 1, len));
            const std::size_t sep = r.text.empty() ? 0 : 1;
            if (r.text.size() + sep + label.size() > kMaxNameLength) {
                r.issues |= kNameTooLong;
                text_full = true;
                if (r.text.size() + sep < kMaxNameLength) {
                    if (sep)
                        r.text += '.';
                    r.text.append(label, 0, kMaxNameLength - r.text.size());
                }
            } else {
                if (sep)
                    r.text += '.';
                r.text += label;
            }
        }
        pos += 1 + std::size_t{len};
    }
    return r;
}

std::optional<DnsHeader> parse_header(std::span<const std::uint8_t> msg) {
    ByteReader r(msg);
    DnsHeader h;
    h.id = r.u16be();
    const std::uint16_t flags = r.u16be();
    h.qdcount = r.u16be();
    h.ancount = r.u16be();
    h.nscount = r.u16be();
    h.arcount = r.u16be();
    if (!r.ok())
        return std::nullopt;
    h.qr = (flags & 0x8000) != 0;
    h.opcode = static_cast<std::uint8_t>((flags >> 11) & 0x0F);
    h.aa = (flags & 0x0400) != 0;
    h.tc = (flags & 0x0200) != 0;
    h.rd = (flags & 0x0100) != 0;
    h.ra = (flags & 0x0080) != 0;
    h.z = (flags & 0x0040) != 0;
    h.ad = (flags & 0x0020) != 0;
    h.cd = (flags & 0x0010) != 0;
    h.rcode = static_cast<std::uint8_t>(flags & 0x000F);
    return h;
}

void render_rdata(std::span<const std::uint8_t> msg, std::size_t rdata_offset, DnsRecord& rec) {
    rec.rdata.clear();
    rec.address.reset();
    if (rdata_offset > msg.size() || rec.rdlength > msg.size() - rdata_offset) {
        rec.bad_rdata = true;
        return;
    }
    const std::size_t end = rdata_offset + rec.rdlength;
    const auto rdata = msg.subspan(rdata_offset, rec.rdlength);
    // Fixed fields are read through a reader that stops at the rdata's end; names go through
    // the whole message because their pointers may lead anywhere before them.
    ByteReader r(msg.first(end));
    r.seek(rdata_offset);
    std::string out;
    bool ok = true;

    switch (rec.type) {
        case 1:  // A
            if (rdata.size() == 4) {
                rec.address = IpAddress::v4(rdata[0], rdata[1], rdata[2], rdata[3]);
                out = rec.address->to_string();
            } else {
                ok = false;
            }
            break;
        case 28:  // AAAA
            if (rdata.size() == 16) {
                IpAddress ip;
                ip.v6 = true;
                for (std::size_t i = 0; i < 16; ++i)
                    ip.bytes[i] = rdata[i];
                rec.address = ip;
                out = ip.to_string();
            } else {
                ok = false;
            }
            break;
        case 2:   // NS
        case 3:   // MD
        case 4:   // MF
        case 5:   // CNAME
        case 7:   // MB
        case 8:   // MG
        case 9:   // MR
        case 12:  // PTR
        case 39:  // DNAME
            ok = read_rdata_name(msg, r, end, rec, out) && r.offset() == end;
            break;
        case 14:  // MINFO
        case 17:  // RP
            ok = read_rdata_name(msg, r, end, rec, out) && read_rdata_name(msg, r, end, rec, out) &&
                 r.offset() == end;
            break;
        case 15:  // MX
        case 18:  // AFSDB
        case 21:  // RT
        case 36:  // KX
            append_number(out, r.u16be());
            ok = r.ok() && read_rdata_name(msg, r, end, rec, out) && r.offset() == end;
            break;
        case 6: {  // SOA
            ok = read_rdata_name(msg, r, end, rec, out) && read_rdata_name(msg, r, end, rec, out);
            if (ok) {
                // serial refresh retry expire minimum
                for (int i = 0; i < 5; ++i)
                    append_number(out, r.u32be());
                ok = r.ok() && r.offset() == end;
            }
            break;
        }
        case 33: {  // SRV: priority weight port target
            for (int i = 0; i < 3; ++i)
                append_number(out, r.u16be());
            ok = r.ok() && read_rdata_name(msg, r, end, rec, out) && r.offset() == end;
            break;
        }
        case 35: {  // NAPTR: order preference flags services regexp replacement
            append_number(out, r.u16be());
            append_number(out, r.u16be());
            ok = r.ok();
            for (int i = 0; ok && i < 3; ++i)
                ok = read_char_string(r, out);
            ok = ok && read_rdata_name(msg, r, end, rec, out) && r.offset() == end;
            break;
        }
        case 13:  // HINFO: cpu os
            ok = read_char_string(r, out) && read_char_string(r, out) && r.offset() == end;
            break;
        case 16:  // TXT
        case 99:  // SPF
            if (rdata.empty())
                ok = false;
            while (ok && r.offset() < end)
                ok = read_char_string(r, out);
            break;
        case 41: {  // OPT (RFC 6891): the class and TTL fields carry EDNS parameters
            out = "udp_size=" + std::to_string(rec.rclass) +
                  " ext_rcode=" + std::to_string(rec.ttl >> 24) +
                  " version=" + std::to_string((rec.ttl >> 16) & 0xFF) +
                  " do=" + std::to_string((rec.ttl >> 15) & 1);
            std::string codes;
            while (ok && r.offset() < end) {
                const std::uint16_t code = r.u16be();
                const std::uint16_t len = r.u16be();
                r.skip(len);
                ok = r.ok();
                if (ok) {
                    if (!codes.empty())
                        codes += ',';
                    codes += std::to_string(code);
                }
                if (codes.size() > kMaxRdataText)
                    break;
            }
            if (ok && !codes.empty())
                append_capped(out, " options=" + codes);
            break;
        }
        default:
            out = generic_rdata(rdata);
            break;
    }
    if (!ok) {
        rec.bad_rdata = true;
        rec.address.reset();
        out = generic_rdata(rdata);
    }
    if (out.size() > kMaxRdataText)
        out.resize(kMaxRdataText);
    rec.rdata = std::move(out);
}

DnsMessage parse_message(std::span<const std::uint8_t> msg) {
    DnsMessage m;
    auto header = parse_header(msg);
    if (!header) {
        m.status = ParseStatus::kMalformed;
        m.problem = "message of " + std::to_string(msg.size()) + " bytes is shorter than a header";
        return m;
    }
    m.header_ok = true;
    m.header = *header;

    auto stop = [&m](ParseStatus status, std::string what) {
        m.status = status;
        if (m.problem.empty())
            m.problem = std::move(what);
    };
    auto note_name = [&m](const ParsedName& n) {
        m.name_issues |= n.issues;
        if (n.issues != 0 && m.issue_name.empty())
            m.issue_name = n.text.substr(0, kMaxIssueNameLength);
    };
    // A name whose end cannot be found stops the parse: truncated when the bytes simply ran
    // out, malformed when a bad label type or wild pointer got in the way.
    auto name_status = [](const ParsedName& n) {
        return (n.issues & (kBadLabelType | kBadPointer)) != 0 ? ParseStatus::kMalformed
                                                               : ParseStatus::kTruncated;
    };

    std::size_t pos = kHeaderSize;
    for (std::uint32_t i = 0; i < m.header.qdcount; ++i) {
        ParsedName n = read_name(msg, pos);
        note_name(n);
        if (!n.found_end) {
            stop(name_status(n), "question " + std::to_string(i + 1) + " name is unreadable");
            return m;
        }
        ByteReader r(msg);
        r.seek(n.end);
        DnsQuestion q;
        q.qtype = r.u16be();
        q.qclass = r.u16be();
        const bool whole = r.ok();
        pos = r.offset();
        // A question cut after its name still says what was asked.
        if (m.questions.size() < kMaxQuestions) {
            q.name = std::move(n.text);
            q.name_issues = n.issues;
            m.questions.push_back(std::move(q));
        } else {
            ++m.questions_dropped;
        }
        if (!whole) {
            stop(ParseStatus::kTruncated, "message ends inside question " + std::to_string(i + 1));
            return m;
        }
    }

    const std::uint32_t an = m.header.ancount;
    const std::uint32_t ns = m.header.nscount;
    const std::uint32_t total = an + ns + m.header.arcount;
    for (std::uint32_t i = 0; i < total; ++i) {
        if (m.records.size() >= kMaxRecordsPerMessage) {
            m.records_dropped = total - i;
            break;
        }
        DnsRecord rec;
        rec.section =
            i < an ? Section::kAnswer : (i < an + ns ? Section::kAuthority : Section::kAdditional);
        ParsedName n = read_name(msg, pos);
        note_name(n);
        if (!n.found_end) {
            stop(name_status(n), "record " + std::to_string(i + 1) + " name is unreadable");
            return m;
        }
        ByteReader r(msg);
        r.seek(n.end);
        rec.type = r.u16be();
        rec.rclass = r.u16be();
        rec.ttl = r.u32be();
        rec.rdlength = r.u16be();
        if (!r.ok() || !r.has(rec.rdlength)) {
            stop(ParseStatus::kTruncated, "message ends inside record " + std::to_string(i + 1));
            return m;
        }
        rec.name = std::move(n.text);
        rec.name_issues = n.issues;
        render_rdata(msg, r.offset(), rec);
        m.name_issues |= rec.name_issues;
        if (rec.bad_rdata) {
            ++m.bad_rdata;
            if (m.problem.empty())
                m.problem = type_name(rec.type) + " record " + std::to_string(i + 1) +
                            " has rdata that does not fit its type (" +
                            std::to_string(rec.rdlength) + " bytes)";
        }
        pos = r.offset() + rec.rdlength;
        m.records.push_back(std::move(rec));
    }
    return m;
}

Plausibility check_plausible(std::span<const std::uint8_t> data, bool whole) {
    const Plausibility short_answer = whole ? Plausibility::kNo : Plausibility::kNeedMore;
    auto header = parse_header(data);
    if (!header)
        return short_answer;
    const DnsHeader& h = *header;
    if (h.qdcount < 1 || h.qdcount > 4)
        return Plausibility::kNo;
    if (lookup(kOpcodeNames, h.opcode) == nullptr)
        return Plausibility::kNo;
    if (!h.qr) {
        constexpr std::uint8_t kOpcodeUpdate = 5;
        if (h.rcode != 0)
            return Plausibility::kNo;
        if (h.opcode != kOpcodeUpdate && (h.ancount != 0 || h.nscount != 0))
            return Plausibility::kNo;
    }
    // The smallest question is 5 bytes and the smallest record 11: counts that could not fit
    // in a 64 KiB message are noise, not DNS.
    const std::uint64_t min_size =
        kHeaderSize + 5ull * h.qdcount + 11ull * (std::uint64_t{h.ancount} + h.nscount + h.arcount);
    if (min_size > 65535)
        return Plausibility::kNo;
    if (whole && min_size > data.size())
        return Plausibility::kNo;

    // The first question's name, uncompressed (nothing precedes it to point at), of sane
    // hostname-like labels.
    ByteReader r(data);
    r.seek(kHeaderSize);
    std::size_t name_len = 0;
    while (true) {
        const std::uint8_t len = r.u8();
        if (!r.ok())
            return short_answer;
        if (len == 0)
            break;
        if (len > 63)
            return Plausibility::kNo;
        name_len += len + 1;
        if (name_len > 255)
            return Plausibility::kNo;
        auto label = r.bytes(len);
        if (!r.ok()) {
            // Judge the bytes that are there before asking for more.
            for (std::uint8_t b : r.rest())
                if (!printable(b))
                    return Plausibility::kNo;
            return short_answer;
        }
        for (std::uint8_t b : label)
            if (!printable(b))
                return Plausibility::kNo;
    }
    const std::uint16_t qtype = r.u16be();
    const std::uint16_t qclass = r.u16be();
    if (!r.ok())
        return short_answer;
    if (!known_type(qtype))
        return Plausibility::kNo;
    // mDNS borrows the class's top bit for "unicast response wanted".
    if (lookup(kClassNames, qclass & 0x7FFF) == nullptr)
        return Plausibility::kNo;
    return Plausibility::kYes;
}

TcpFrame frame_tcp(std::span<const std::uint8_t> buf) {
    TcpFrame f;
    if (buf.size() < 2) {
        f.status = TcpFrame::Status::kIncomplete;
        f.need = 2;
        return f;
    }
    const std::size_t len = (std::size_t{buf[0]} << 8) | buf[1];
    if (len == 0) {
        f.status = TcpFrame::Status::kError;
        f.consumed = 2;
        return f;
    }
    if (buf.size() - 2 < len) {
        f.status = TcpFrame::Status::kIncomplete;
        f.need = 2 + len;
        return f;
    }
    f.status = TcpFrame::Status::kOk;
    f.message = buf.subspan(2, len);
    f.consumed = 2 + len;
    return f;
}

}  // namespace botscope::analysis::dns
