#include "analysis/proto/ftp/ftp_parser.h"

#include <algorithm>
#include <array>
#include <vector>

#include "util/text.h"

namespace botscope::analysis::ftp {

namespace {

constexpr unsigned char kIac = 0xFF;
constexpr unsigned char kWill = 0xFB;
constexpr unsigned char kDont = 0xFE;
/// Numbers of a 227 reply examined for the six that form the address.
constexpr std::size_t kMaxPasvNumbers = 32;

struct VerbEntry {
    std::string_view name;
    Verb verb;
};

// RFC 959, 775 (X...), 1639 (LPRT/LPSV), 2228, 2389, 2428, 2640, 3659, 7151, and the common
// vendor verbs, so that a normal client never looks "unknown".
constexpr std::array<VerbEntry, 63> kVerbs = {{
    {"USER", Verb::kUser},  {"PASS", Verb::kPass},  {"ACCT", Verb::kAcct},   {"PORT", Verb::kPort},
    {"EPRT", Verb::kEprt},  {"PASV", Verb::kPasv},  {"EPSV", Verb::kEpsv},   {"RETR", Verb::kRetr},
    {"STOR", Verb::kStor},  {"STOU", Verb::kStou},  {"APPE", Verb::kAppe},   {"LIST", Verb::kList},
    {"NLST", Verb::kNlst},  {"MLSD", Verb::kMlsd},  {"REST", Verb::kRest},   {"TYPE", Verb::kType},
    {"CWD", Verb::kCwd},    {"XCWD", Verb::kCwd},   {"PWD", Verb::kPwd},     {"XPWD", Verb::kPwd},
    {"SYST", Verb::kSyst},  {"AUTH", Verb::kAuth},  {"REIN", Verb::kRein},   {"QUIT", Verb::kQuit},
    {"CDUP", Verb::kOther}, {"XCUP", Verb::kOther}, {"SMNT", Verb::kOther},  {"STRU", Verb::kOther},
    {"MODE", Verb::kOther}, {"ALLO", Verb::kOther}, {"RNFR", Verb::kOther},  {"RNTO", Verb::kOther},
    {"ABOR", Verb::kOther}, {"DELE", Verb::kOther}, {"RMD", Verb::kOther},   {"XRMD", Verb::kOther},
    {"MKD", Verb::kOther},  {"XMKD", Verb::kOther}, {"SITE", Verb::kOther},  {"STAT", Verb::kOther},
    {"HELP", Verb::kOther}, {"NOOP", Verb::kOther}, {"FEAT", Verb::kOther},  {"OPTS", Verb::kOther},
    {"SIZE", Verb::kOther}, {"MDTM", Verb::kOther}, {"MLST", Verb::kOther},  {"ADAT", Verb::kOther},
    {"PROT", Verb::kOther}, {"PBSZ", Verb::kOther}, {"CCC", Verb::kOther},   {"MIC", Verb::kOther},
    {"CONF", Verb::kOther}, {"ENC", Verb::kOther},  {"LANG", Verb::kOther},  {"HOST", Verb::kOther},
    {"CLNT", Verb::kOther}, {"LPRT", Verb::kOther}, {"LPSV", Verb::kOther},  {"MFMT", Verb::kOther},
    {"XCRC", Verb::kOther}, {"XMD5", Verb::kOther}, {"XSHA1", Verb::kOther},
}};

bool is_alpha(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}
bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

std::optional<std::uint8_t> octet(std::string_view s) {
    s = util::trim(s);
    const auto v = util::parse_u64(s);
    if (!v || *v > 255)
        return std::nullopt;
    return static_cast<std::uint8_t>(*v);
}

std::optional<std::uint16_t> port_number(std::string_view s) {
    const auto v = util::parse_u64(util::trim(s));
    if (!v || *v == 0 || *v > 65535)
        return std::nullopt;
    return static_cast<std::uint16_t>(*v);
}

/// h1,h2,h3,h4,p1,p2 exactly.
std::optional<Endpoint> six_numbers(std::string_view s) {
    const auto fields = util::split(s, ',', false);
    if (fields.size() != 6)
        return std::nullopt;
    std::array<std::uint8_t, 6> v{};
    for (std::size_t i = 0; i < 6; ++i) {
        const auto o = octet(fields[i]);
        if (!o)
            return std::nullopt;
        v[i] = *o;
    }
    Endpoint ep;
    ep.addr = IpAddress::v4(v[0], v[1], v[2], v[3]);
    ep.port = static_cast<std::uint16_t>((v[4] << 8) | v[5]);
    return ep;
}

}  // namespace

std::string strip_telnet(std::string_view line) {
    std::string out;
    out.reserve(line.size());
    for (std::size_t i = 0; i < line.size(); ++i) {
        const auto c = static_cast<unsigned char>(line[i]);
        if (c != kIac) {
            out.push_back(line[i]);
            continue;
        }
        if (i + 1 >= line.size())
            break;  // a lone IAC at the end
        const auto cmd = static_cast<unsigned char>(line[i + 1]);
        if (cmd == kIac) {
            out.push_back(line[i]);
            ++i;
        } else if (cmd >= kWill && cmd <= kDont) {
            i += 2;  // WILL/WONT/DO/DONT carry an option byte
        } else {
            ++i;  // IP, DM, AO, ...
        }
    }
    return out;
}

Command parse_command(std::string_view line) {
    Command c;
    // One space separates verb and argument; a path may itself start or end with spaces, so
    // only CR/LF are trimmed from the argument's end.
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n'))
        line.remove_suffix(1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t'))
        line.remove_prefix(1);
    const auto sp = line.find(' ');
    c.name = line.substr(0, sp);
    c.arg = sp == std::string_view::npos ? std::string_view{} : line.substr(sp + 1);
    if (c.name.size() < 3 || c.name.size() > 5 ||
        !std::all_of(c.name.begin(), c.name.end(),
                     [](char ch) { return is_alpha(ch) || is_digit(ch); }) ||
        !is_alpha(c.name.front())) {
        c.verb = Verb::kInvalid;
        return c;
    }
    for (const auto& e : kVerbs) {
        if (util::iequals(c.name, e.name)) {
            c.verb = e.verb;
            return c;
        }
    }
    // RFC 959 verbs are 3-4 letters; five-character names are only known vendor verbs.
    const bool letters =
        std::all_of(c.name.begin(), c.name.end(), [](char ch) { return is_alpha(ch); });
    c.verb = (letters && c.name.size() <= 4) ? Verb::kUnknown : Verb::kInvalid;
    return c;
}

std::optional<Endpoint> parse_port(std::string_view arg) {
    return six_numbers(util::trim(arg));
}

std::optional<Endpoint> parse_eprt(std::string_view arg) {
    arg = util::trim(arg);
    if (arg.size() < 2)
        return std::nullopt;
    const char d = arg.front();
    if (d < 33 || d > 126)
        return std::nullopt;
    const auto fields = util::split(arg.substr(1), d, false);
    // "af", "addr", "port", "" (after the closing delimiter)
    if (fields.size() != 4 || !fields[3].empty())
        return std::nullopt;
    const auto af = util::parse_u64(fields[0]);
    const auto port = port_number(fields[2]);
    if (!af || !port || (*af != 1 && *af != 2))
        return std::nullopt;
    Endpoint ep;
    if (!IpAddress::parse(fields[1], ep.addr) || ep.addr.v6 != (*af == 2))
        return std::nullopt;
    ep.port = *port;
    return ep;
}

std::optional<Endpoint> parse_pasv_reply(std::string_view text) {
    // Numbers in order, each marked when a comma (spaces allowed around it) joins it to the
    // next; the first six joined numbers that are all octets are the address and port.
    struct Num {
        std::uint64_t value;
        bool joined;
    };
    std::vector<Num> nums;
    std::size_t i = 0;
    while (i < text.size() && nums.size() < kMaxPasvNumbers) {
        if (!is_digit(text[i])) {
            ++i;
            continue;
        }
        std::uint64_t v = 0;
        while (i < text.size() && is_digit(text[i])) {
            v = std::min<std::uint64_t>(v * 10 + static_cast<std::uint64_t>(text[i] - '0'), 1000);
            ++i;
        }
        std::size_t j = i;
        while (j < text.size() && text[j] == ' ')
            ++j;
        bool joined = j < text.size() && text[j] == ',';
        if (joined) {
            ++j;
            while (j < text.size() && text[j] == ' ')
                ++j;
            joined = j < text.size() && is_digit(text[j]);
        }
        nums.push_back({v, joined});
    }
    for (std::size_t k = 0; k + 6 <= nums.size(); ++k) {
        bool ok = true;
        for (std::size_t n = 0; n < 6 && ok; ++n) {
            ok = nums[k + n].value <= 255 && (n == 5 || nums[k + n].joined);
        }
        if (!ok)
            continue;
        Endpoint ep;
        ep.addr = IpAddress::v4(static_cast<std::uint8_t>(nums[k].value),
                                static_cast<std::uint8_t>(nums[k + 1].value),
                                static_cast<std::uint8_t>(nums[k + 2].value),
                                static_cast<std::uint8_t>(nums[k + 3].value));
        ep.port = static_cast<std::uint16_t>((nums[k + 4].value << 8) | nums[k + 5].value);
        return ep;
    }
    return std::nullopt;
}

std::optional<std::uint16_t> parse_epsv_reply(std::string_view text) {
    // <d><d><d>port<d>: the three leading delimiters are the same printable character.
    for (std::size_t i = 0; i + 4 < text.size(); ++i) {
        const char d = text[i];
        if (d < 33 || d > 126 || is_digit(d) || text[i + 1] != d || text[i + 2] != d)
            continue;
        std::size_t end = i + 3;
        while (end < text.size() && is_digit(text[end]))
            ++end;
        if (end == i + 3 || end >= text.size() || text[end] != d)
            continue;
        return port_number(text.substr(i + 3, end - i - 3));
    }
    return std::nullopt;
}

std::optional<std::string> parse_quoted_path(std::string_view text) {
    const auto open = text.find('"');
    if (open == std::string_view::npos)
        return std::nullopt;
    std::string out;
    for (std::size_t i = open + 1; i < text.size(); ++i) {
        if (text[i] == '"') {
            if (i + 1 < text.size() && text[i + 1] == '"') {  // "" is a quote inside the name
                if (out.size() < kMaxArgLength)
                    out.push_back('"');
                ++i;
                continue;
            }
            return out;
        }
        if (out.size() < kMaxArgLength)
            out.push_back(text[i]);
    }
    return std::nullopt;  // unterminated
}

std::optional<std::uint64_t> parse_transfer_size(std::string_view text) {
    // The last "(N bytes)" wins; some servers put other numbers in parentheses first.
    std::optional<std::uint64_t> found;
    std::size_t pos = 0;
    while ((pos = text.find('(', pos)) != std::string_view::npos) {
        ++pos;
        std::size_t end = pos;
        while (end < text.size() && is_digit(text[end]))
            ++end;
        if (end > pos && util::istarts_with(text.substr(end), " bytes"))
            if (auto v = util::parse_u64(text.substr(pos, end - pos)))
                found = v;
    }
    return found;
}

std::optional<std::string_view> parse_stou_name(std::string_view text) {
    std::size_t pos = 0;
    while (pos + 5 <= text.size()) {
        if (util::istarts_with(text.substr(pos), "FILE:")) {
            std::string_view name = util::trim(text.substr(pos + 5));
            name = name.substr(0, name.find_first_of(" \t"));
            if (name.empty())
                return std::nullopt;
            return name;
        }
        ++pos;
    }
    return std::nullopt;
}

}  // namespace botscope::analysis::ftp
