#include "analysis/proto/smtp/smtp_parser.h"

#include <algorithm>
#include <array>
#include <utility>

#include "util/byte_reader.h"
#include "util/text.h"

namespace botscope::analysis::smtp {

namespace {

constexpr std::size_t kMaxVerbLength = 20;
constexpr std::size_t kMaxHeaderName = 128;
/// RFC 2231 continuations beyond this index are ignored (a name split into 64 pieces is
/// already absurd).
constexpr std::size_t kMaxParamSegments = 64;

struct VerbEntry {
    std::string_view name;
    Verb verb;
};

constexpr std::array<VerbEntry, 20> kVerbs = {{
    {"HELO", Verb::kHelo}, {"EHLO", Verb::kEhlo},         {"MAIL", Verb::kMail},
    {"RCPT", Verb::kRcpt}, {"DATA", Verb::kData},         {"BDAT", Verb::kBdat},
    {"RSET", Verb::kRset}, {"VRFY", Verb::kVrfy},         {"EXPN", Verb::kExpn},
    {"HELP", Verb::kHelp}, {"NOOP", Verb::kNoop},         {"QUIT", Verb::kQuit},
    {"AUTH", Verb::kAuth}, {"STARTTLS", Verb::kStartTls}, {"TURN", Verb::kTurn},
    {"ETRN", Verb::kEtrn}, {"ATRN", Verb::kAtrn},         {"SEND", Verb::kSend},
    {"SOML", Verb::kSoml}, {"SAML", Verb::kSaml},
}};

bool is_alpha(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}
bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

bool valid_verb(std::string_view v) {
    if (v.empty() || v.size() > kMaxVerbLength || !is_alpha(v[0]))
        return false;
    return std::all_of(v.begin(), v.end(),
                       [](char c) { return is_alpha(c) || is_digit(c) || c == '-'; });
}

int base64_value(char c) {
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

std::string_view rtrim(std::string_view s) {
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

/// Overwrites a buffer that held a password before it is released.
void wipe(std::string& s) {
    std::fill(s.begin(), s.end(), '\0');
    s.clear();
}

SaslUser user_result(std::string_view user) {
    SaslUser r;
    r.user = util::bounded_copy(user, kMaxUserLength, &r.truncated);
    return r;
}

SaslUser failed(SaslUser::Status s) {
    SaslUser r;
    r.status = s;
    return r;
}

/// "charset'lang'%41bc" -> "Abc" (RFC 2231 extended value); `strip_prefix` only for the
/// first segment.
std::string decode_extended(std::string_view v, bool strip_prefix) {
    if (strip_prefix) {
        auto q1 = v.find('\'');
        auto q2 = q1 == std::string_view::npos ? q1 : v.find('\'', q1 + 1);
        if (q2 != std::string_view::npos)
            v = v.substr(q2 + 1);
    }
    std::string out;
    out.reserve(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (v[i] == '%' && i + 2 < v.size()) {
            int hi = hex_value(v[i + 1]);
            int lo = hex_value(v[i + 2]);
            if (hi >= 0 && lo >= 0) {
                out.push_back(static_cast<char>(hi * 16 + lo));
                i += 2;
                continue;
            }
        }
        out.push_back(v[i]);
    }
    return out;
}

struct RawParam {
    std::string_view name;
    std::string value;
};

/// Walks "type; a=b; c=\"d;e\"" and calls `fn` for each parameter, value unquoted.
template <typename Fn>
void for_each_param(std::string_view s, Fn&& fn) {
    // Skip the leading value (the media type or disposition), which has no parameters.
    std::size_t pos = s.find(';');
    while (pos != std::string_view::npos && pos < s.size()) {
        ++pos;  // past ';'
        while (pos < s.size() && (s[pos] == ' ' || s[pos] == '\t' || s[pos] == ';'))
            ++pos;
        if (pos >= s.size())
            return;
        std::size_t name_end = pos;
        while (name_end < s.size() && s[name_end] != '=' && s[name_end] != ';')
            ++name_end;
        std::string_view name = util::trim(s.substr(pos, name_end - pos));
        if (name_end >= s.size() || s[name_end] == ';') {
            pos = name_end < s.size() ? name_end : std::string_view::npos;
            continue;
        }
        pos = name_end + 1;  // past '='
        while (pos < s.size() && (s[pos] == ' ' || s[pos] == '\t'))
            ++pos;
        std::string value;
        if (pos < s.size() && s[pos] == '"') {
            ++pos;
            while (pos < s.size() && s[pos] != '"') {
                if (s[pos] == '\\' && pos + 1 < s.size())
                    ++pos;
                value.push_back(s[pos]);
                ++pos;
            }
            // Past the closing quote, then on to the next ';'.
            pos = s.find(';', pos);
        } else {
            std::size_t end = s.find(';', pos);
            value = std::string(util::trim(
                s.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos)));
            pos = end;
        }
        fn(RawParam{name, std::move(value)});
    }
}

}  // namespace

// ---- commands and replies ----

Command parse_command(std::string_view line) {
    line = util::trim(line);
    Command c;
    const auto sp = line.find_first_of(" \t");
    const std::string_view verb = line.substr(0, sp);
    c.name = verb;
    c.arg = sp == std::string_view::npos ? std::string_view{} : util::trim(line.substr(sp + 1));
    if (!valid_verb(verb)) {
        c.verb = Verb::kInvalid;
        return c;
    }
    for (const auto& e : kVerbs) {
        if (util::iequals(verb, e.name)) {
            c.verb = e.verb;
            return c;
        }
    }
    c.verb = (verb[0] == 'X' || verb[0] == 'x') ? Verb::kExtension : Verb::kUnknown;
    return c;
}

std::string_view verb_name(Verb v) {
    for (const auto& e : kVerbs)
        if (e.verb == v)
            return e.name;
    return {};
}

std::optional<MailPath> parse_mail_path(std::string_view arg, std::string_view keyword) {
    arg = util::trim(arg);
    if (!util::istarts_with(arg, keyword))
        return std::nullopt;
    std::string_view rest = util::trim(arg.substr(keyword.size()));
    if (rest.empty() || rest.front() != ':')
        return std::nullopt;
    rest = util::trim(rest.substr(1));
    std::string_view addr;
    if (!rest.empty() && rest.front() == '<') {
        const auto close = rest.find('>', 1);
        addr = close == std::string_view::npos ? rest.substr(1, rest.find_first_of(" \t") - 1)
                                               : rest.substr(1, close - 1);
    } else {
        addr = rest.substr(0, rest.find_first_of(" \t"));
    }
    // A source route ("@relay1,@relay2:user@host") names relays, not the mailbox.
    if (!addr.empty() && addr.front() == '@') {
        if (auto colon = addr.find(':'); colon != std::string_view::npos)
            addr = addr.substr(colon + 1);
    }
    MailPath p;
    p.address = util::bounded_copy(util::trim(addr), kMaxAddressLength, &p.truncated);
    return p;
}

// ---- base64 and SASL ----

std::optional<std::string> base64_decode(std::string_view in) {
    if (in.size() > kMaxBase64Input)
        return std::nullopt;
    std::string out;
    out.reserve(in.size() / 4 * 3 + 3);
    std::uint32_t acc = 0;
    int bits = 0;
    std::size_t data_chars = 0;
    std::size_t pad = 0;
    for (char c : in) {
        if (c == '=') {
            ++pad;
            continue;
        }
        if (pad > 0)
            return std::nullopt;  // data after padding
        const int v = base64_value(c);
        if (v < 0)
            return std::nullopt;
        acc = (acc << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        ++data_chars;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((acc >> bits) & 0xFFu));
        }
    }
    // One leftover character carries fewer than 8 bits: no encoder produces that.
    if (data_chars % 4 == 1)
        return std::nullopt;
    if (pad > 0 && (pad > 2 || (data_chars + pad) % 4 != 0))
        return std::nullopt;
    return out;
}

SaslUser sasl_plain_user(std::string_view base64) {
    auto decoded = base64_decode(util::trim(base64));
    if (!decoded)
        return failed(SaslUser::Status::kBadBase64);
    const std::string_view d = *decoded;
    const auto first = d.find('\0');
    const auto second = first == std::string_view::npos ? first : d.find('\0', first + 1);
    if (second == std::string_view::npos) {
        wipe(*decoded);
        return failed(SaslUser::Status::kMalformed);
    }
    const std::string_view authzid = d.substr(0, first);
    const std::string_view authcid = d.substr(first + 1, second - first - 1);
    SaslUser r = user_result(authcid.empty() ? authzid : authcid);
    wipe(*decoded);
    return r;
}

SaslUser sasl_login_user(std::string_view base64) {
    auto decoded = base64_decode(util::trim(base64));
    if (!decoded)
        return failed(SaslUser::Status::kBadBase64);
    return user_result(*decoded);
}

SaslUser sasl_cram_md5_user(std::string_view base64) {
    auto decoded = base64_decode(util::trim(base64));
    if (!decoded)
        return failed(SaslUser::Status::kBadBase64);
    const std::string_view d = *decoded;
    const auto sp = d.rfind(' ');
    if (sp == std::string_view::npos)
        return failed(SaslUser::Status::kMalformed);
    return user_result(d.substr(0, sp));
}

// ---- MIME parameters ----

namespace {

/// One encoded word's text decoded to UTF-8, or nullopt to keep the word as written.
std::optional<std::string> decode_word(std::string_view charset, char encoding,
                                       std::string_view text) {
    std::string cs = util::to_lower(charset.substr(0, charset.find('*')));  // RFC 2231 language
    bool latin1 = cs == "iso-8859-1" || cs == "latin1" || cs == "windows-1252" || cs == "cp1252";
    if ((!latin1 && cs != "utf-8" && cs != "us-ascii") ||
        (encoding != 'b' && encoding != 'B' && encoding != 'q' && encoding != 'Q'))
        return std::nullopt;
    std::string bytes;
    if (encoding == 'b' || encoding == 'B') {
        auto b = base64_decode(text);
        if (!b)
            return std::nullopt;
        bytes = std::move(*b);
    } else {
        for (std::size_t i = 0; i < text.size(); ++i) {
            if (text[i] == '_') {
                bytes += ' ';
            } else if (text[i] == '=') {
                int hi = i + 2 < text.size() ? hex_value(text[i + 1]) : -1;
                int lo = hi >= 0 ? hex_value(text[i + 2]) : -1;
                if (lo < 0)
                    return std::nullopt;
                bytes += static_cast<char>(hi * 16 + lo);
                i += 2;
            } else {
                bytes += text[i];
            }
        }
    }
    if (!latin1)
        return bytes;
    std::string utf8;
    for (unsigned char b : bytes) {
        if (b < 0x80) {
            utf8 += static_cast<char>(b);
        } else {
            utf8 += static_cast<char>(0xC0 | (b >> 6));
            utf8 += static_cast<char>(0x80 | (b & 0x3F));
        }
    }
    return utf8;
}

}  // namespace

std::string decode_encoded_words(std::string_view value, std::size_t max_len, bool* truncated) {
    std::string out;
    std::size_t i = 0;
    bool after_word = false;     // the last thing written was a decoded word
    std::size_t pending_ws = 0;  // whitespace after it, dropped if another word follows
    while (i < value.size()) {
        if (value.compare(i, 2, "=?") == 0) {
            // =?charset?e?text?=
            std::size_t q1 = value.find('?', i + 2);
            std::size_t q2 = q1 == std::string_view::npos ? q1 : value.find('?', q1 + 1);
            std::size_t end = q2 == std::string_view::npos ? q2 : value.find("?=", q2 + 1);
            if (end != std::string_view::npos && q2 == q1 + 2) {
                auto word = decode_word(value.substr(i + 2, q1 - i - 2), value[q1 + 1],
                                        value.substr(q2 + 1, end - q2 - 1));
                if (word) {
                    if (!after_word)
                        out.append(value.substr(i - pending_ws, pending_ws));
                    out += *word;
                    after_word = true;
                    pending_ws = 0;
                    i = end + 2;
                    continue;
                }
            }
        }
        if (value[i] == ' ' || value[i] == '\t') {
            ++pending_ws;
            ++i;
            continue;
        }
        out.append(value.substr(i - pending_ws, pending_ws));
        out += value[i];
        pending_ws = 0;
        after_word = false;
        ++i;
    }
    out.append(value.substr(value.size() - pending_ws));
    if (out.size() > max_len) {
        out.resize(max_len);
        // Not in the middle of a character: drop a last one the cut left incomplete.
        std::size_t lead = out.size();
        while (lead > 0 && (static_cast<unsigned char>(out[lead - 1]) & 0xC0) == 0x80)
            --lead;
        if (lead > 0) {
            auto b = static_cast<unsigned char>(out[lead - 1]);
            std::size_t need = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
            if (out.size() - (lead - 1) < need)
                out.resize(lead - 1);
        }
        if (truncated)
            *truncated = true;
    }
    return out;
}

std::optional<std::string> mime_param(std::string_view header_value, std::string_view key,
                                      std::size_t max_len, bool* truncated) {
    std::optional<std::string> plain;
    std::optional<std::string> extended;
    std::vector<std::optional<std::string>> segments;
    for_each_param(header_value, [&](RawParam p) {
        if (util::iequals(p.name, key)) {
            if (!plain)
                plain = std::move(p.value);
            return;
        }
        if (p.name.size() <= key.size() || !util::istarts_with(p.name, key) ||
            p.name[key.size()] != '*')
            return;
        std::string_view suffix = p.name.substr(key.size() + 1);
        if (suffix.empty()) {
            if (!extended)
                extended = decode_extended(p.value, true);
            return;
        }
        const bool ext = suffix.back() == '*';
        if (ext)
            suffix.remove_suffix(1);
        const auto index = util::parse_u64(suffix);
        if (!index || *index >= kMaxParamSegments)
            return;
        const auto i = static_cast<std::size_t>(*index);
        if (segments.size() <= i)
            segments.resize(i + 1);
        if (!segments[i])
            segments[i] = ext ? decode_extended(p.value, i == 0) : std::move(p.value);
    });
    std::optional<std::string> joined;
    if (!segments.empty() && segments[0]) {
        joined.emplace();
        for (const auto& seg : segments) {
            if (!seg)
                break;
            joined->append(*seg);
            if (joined->size() > max_len)
                break;
        }
    }
    std::optional<std::string>& best = extended ? extended : (joined ? joined : plain);
    if (!best)
        return std::nullopt;
    return util::bounded_copy(*best, max_len, truncated);
}

// ---- MessageParser ----

void MessageParser::feed(std::span<const std::uint8_t> bytes) {
    hasher_.update(bytes);
    while (auto f = lines_.next(bytes)) {
        if (f->continued)
            continue;  // tail of an over-long line: nothing to examine
        if (f->terminator.empty() && block_ != Block::kBody)
            out_.truncated = true;
        on_line(f->text);
    }
}

MessageSummary MessageParser::finish() {
    if (auto f = lines_.flush(); f && !f->continued)
        on_line(f->text);
    if (block_ != Block::kBody)
        end_header_block();
    out_.size = hasher_.size();
    auto [md5, sha256] = hasher_.finish();
    out_.md5 = std::move(md5);
    out_.sha256 = std::move(sha256);
    return std::move(out_);
}

void MessageParser::on_line(std::string_view line) {
    if (block_ == Block::kBody)
        body_line(line);
    else
        header_line(line);
}

void MessageParser::header_line(std::string_view line) {
    if (line.empty()) {
        end_header_block();
        block_ = Block::kBody;
        return;
    }
    if (line.front() == ' ' || line.front() == '\t') {
        // Folded continuation: RFC 5322 unfolding, with the whitespace run collapsed to one space.
        if (!have_header_)
            return;
        const std::string_view more = util::trim(line);
        if (value_.size() + 1 + more.size() > kMaxUnfoldedHeader) {
            out_.truncated = true;
            const std::size_t room =
                kMaxUnfoldedHeader - std::min(kMaxUnfoldedHeader, value_.size() + 1);
            if (room > 0)
                value_.append(" ").append(more.substr(0, room));
            return;
        }
        value_.append(" ").append(more);
        return;
    }
    commit_header();
    if (++block_lines_ > kMaxHeaderLines) {
        out_.truncated = true;
        return;
    }
    const auto colon = line.find(':');
    const std::string_view name =
        colon == std::string_view::npos ? std::string_view{} : rtrim(line.substr(0, colon));
    const bool valid_name = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return static_cast<unsigned char>(c) > 32 && static_cast<unsigned char>(c) < 127;
    });
    if (!valid_name) {
        // No blank line before the body: this line is already body text.
        end_header_block();
        block_ = Block::kBody;
        body_line(line);
        return;
    }
    bool cut = false;
    name_ = util::bounded_copy(name, kMaxHeaderName, &cut);
    value_ = util::bounded_copy(util::trim(line.substr(colon + 1)), kMaxUnfoldedHeader, &cut);
    if (cut)
        out_.truncated = true;
    have_header_ = true;
    if (block_ == Block::kTopHeaders)
        ++out_.header_count;
}

void MessageParser::commit_header() {
    if (!have_header_)
        return;
    have_header_ = false;
    bool cut = false;
    if (block_ == Block::kTopHeaders) {
        struct Field {
            std::string_view name;
            std::string* dest;
        };
        MessageHeaders& h = out_.headers;
        const Field fields[] = {{"from", &h.from},
                                {"to", &h.to},
                                {"cc", &h.cc},
                                {"subject", &h.subject},
                                {"message-id", &h.message_id},
                                {"date", &h.date},
                                {"x-mailer", &h.x_mailer}};
        for (const auto& f : fields) {
            if (util::iequals(name_, f.name)) {
                if (f.dest->empty())
                    *f.dest = util::bounded_copy(value_, kMaxHeaderValue, &cut);
                break;
            }
        }
    }
    if (util::iequals(name_, "content-type")) {
        if (auto b = mime_param(value_, "boundary", kMaxBoundaryLength, &cut); b && !b->empty()) {
            if (std::find(boundaries_.begin(), boundaries_.end(), *b) == boundaries_.end()) {
                if (boundaries_.size() < kMaxBoundaries)
                    boundaries_.push_back(std::move(*b));
                else
                    out_.truncated = true;
            }
        }
        if (auto n = mime_param(value_, "name", kMaxFilenameLength, &cut); n && !n->empty())
            part_name_ = decode_encoded_words(*n, kMaxFilenameLength, &cut);
    } else if (util::iequals(name_, "content-disposition")) {
        if (auto n = mime_param(value_, "filename", kMaxFilenameLength, &cut); n && !n->empty())
            part_filename_ = decode_encoded_words(*n, kMaxFilenameLength, &cut);
    }
    if (cut)
        out_.truncated = true;
}

void MessageParser::end_header_block() {
    commit_header();
    // Both headers usually name the same file; Content-Disposition is the one meant for it.
    std::string& name = part_filename_.empty() ? part_name_ : part_filename_;
    if (!name.empty()) {
        if (out_.attachments.size() < kMaxAttachments)
            out_.attachments.push_back(std::move(name));
        else
            ++out_.attachments_dropped;
    }
    part_name_.clear();
    part_filename_.clear();
    block_lines_ = 0;
}

void MessageParser::body_line(std::string_view line) {
    if (boundaries_.empty() || line.size() < 2 || line[0] != '-' || line[1] != '-')
        return;
    const std::string_view rest = line.substr(2);
    for (const auto& b : boundaries_) {
        if (rest.size() < b.size() || rest.substr(0, b.size()) != b)
            continue;
        // Transport padding (trailing whitespace) is allowed after a delimiter.
        const std::string_view tail = rtrim(rest.substr(b.size()));
        if (tail.empty()) {
            block_ = Block::kPartHeaders;
            block_lines_ = 0;
            have_header_ = false;
            return;
        }
        if (tail == "--")
            return;  // close delimiter: the enclosing part's body goes on
    }
}

}  // namespace botscope::analysis::smtp
