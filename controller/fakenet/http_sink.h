#pragma once
// The HTTP sink: a web server, as the era's Apache looked, that answers every request with
// 200 and something of the type asked for (content.h): a bot's download of its update gets the
// harmless stub, its check-in to a PHP gate gets "OK", its proxy CONNECT gets a "tunnel" that
// closes. Every request is recorded.
//
// Limits:
//   kHttpMaxHead   16 KiB  request line and headers of one request (more: 431 and close); also
//                          the bound on a chunked body's trailers
//   kHttpMaxBody    8 MiB  request body bytes skipped per request, by Content-Length or chunks
//                          (a larger Content-Length: 413 and close)
//   chunk-size lines       at most the analysis' kMaxLineLength (8192 bytes)
//   HttpConfig             requests per connection, then the last answer says close
//   buffered() is at most kHttpMaxHead; nothing of a body is kept
// A body that cannot be framed (a bad Content-Length or chunk, a transfer coding other than
// chunked) is answered as usual, then the connection is closed. No Date header: services do
// not read the wall clock.

#include <cstddef>
#include <cstdint>
#include <memory>

#include "fakenet/session.h"

namespace botscope::fakenet {

inline constexpr std::size_t kHttpMaxHead = 16 * 1024;
inline constexpr std::uint64_t kHttpMaxBody = 8 << 20;

struct HttpConfig {
    std::size_t max_requests = 200;  ///< per connection
};

/// Answers every request, in order (pipelining), whatever the method: 200 with
/// content_for(target) (HEAD: headers only), `Server: Apache/2.2.3 (Unix)`, Content-Length,
/// Content-Type, `Connection: keep-alive` or `close` as the request asked (HTTP/1.0 default
/// close); CONNECT: 200 then close; a request line that does not parse: 400 and close.
/// Records "http" per request: {"conn", "client", "server", "method", "host" (or null), "uri",
/// "version" ("1.1"), "user_agent" (or null), "body_bytes" (request body), "status", "served":
/// {"kind" (content kind, "error" or "none"), "content_type" (or null), "bytes" (body bytes
/// sent), "sha256" (of them, or null when none)}}; method, host, uri, version and user agent
/// are null when the request line could not be read. Wire text goes through printable_text().
std::unique_ptr<TcpSession> make_http_session(const ConnInfo& conn, const HttpConfig& config,
                                              Recorder& rec);

}  // namespace botscope::fakenet
