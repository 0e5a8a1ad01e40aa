#include "url.h"

#include "dns_client.h"
#include "util/text.h"

namespace botscope::botemu {

namespace {

util::Error bad_url(std::string why) {
    return util::Error{"bad_url", std::move(why)};
}

bool file_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

}  // namespace

std::string Url::to_string() const {
    const bool http = scheme == Scheme::kHttp;
    std::string out = http ? "http://" : "tftp://";
    out += host;
    if (port != (http ? 80 : kTftpPort))
        out += ":" + std::to_string(port);
    out += http ? path : "/" + path;
    return out;
}

util::Result<Url> parse_url(std::string_view text) {
    if (text.size() > kMaxUrlLength)
        return bad_url("URL longer than " + std::to_string(kMaxUrlLength) + " characters");
    for (char c : text)
        if (c <= ' ' || c > '~')
            return bad_url("URL with a space or a control character");
    Url url;
    auto sep = text.find("://");
    std::string_view scheme = sep == std::string_view::npos ? "" : text.substr(0, sep);
    if (util::iequals(scheme, "http")) {
        url.scheme = Scheme::kHttp;
    } else if (util::iequals(scheme, "tftp")) {
        url.scheme = Scheme::kTftp;
        url.port = kTftpPort;
    } else {
        return bad_url("not an http:// or tftp:// URL");
    }
    std::string_view rest = text.substr(sep + 3);
    rest = rest.substr(0, rest.find('#'));
    auto slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    std::string_view path = slash == std::string_view::npos ? "/" : rest.substr(slash);
    if (authority.find('@') != std::string_view::npos)
        return bad_url("URL with user info");
    if (auto colon = authority.find(':'); colon != std::string_view::npos) {
        auto port = util::parse_u64(authority.substr(colon + 1));
        if (!port || *port == 0 || *port > 65535)
            return bad_url("bad port in URL");
        url.port = static_cast<std::uint16_t>(*port);
        authority = authority.substr(0, colon);
    }
    url.address = fakenet::parse_ipv4(authority);
    if (!url.address && !is_valid_hostname(authority))
        return bad_url("bad host in URL");
    url.host = std::string(authority);
    if (url.scheme == Scheme::kTftp) {
        path.remove_prefix(1);
        if (path.empty())
            return bad_url("tftp:// URL without a file name");
    }
    url.path = std::string(path);
    return url;
}

std::string sanitize_file_name(std::string_view name) {
    name = name.substr(0, name.find('?'));
    if (auto last = name.find_last_of("/\\"); last != std::string_view::npos)
        name = name.substr(last + 1);
    std::string out;
    for (char c : name) {
        if (!file_name_char(c) || (out.empty() && c == '.'))
            continue;
        if (out.size() == kMaxFileName)
            break;
        out += c;
    }
    return out.empty() ? "download.bin" : out;
}

}  // namespace botscope::botemu
