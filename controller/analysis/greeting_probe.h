#pragma once
// The one classifier of a "220" service's first lines, shared by the SMTP and FTP probes. Both
// servers greet with 220, so the client's first command decides, else the greeting's words;
// keeping the word lists in one place guarantees the two probes never claim the same stream.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace botscope::analysis::greeting {

/// Bytes of the greeting examined for product names.
inline constexpr std::size_t kBannerWindow = 512;

enum class Speaker : std::uint8_t { kEmpty, kPartial, kSmtp, kFtp, kOther };
enum class Greeting : std::uint8_t { kPartial, kNotReply, kReply };
enum class Banner : std::uint8_t { kUnknown, kSmtp, kFtp };

/// What the client's first bytes say it speaks.
Speaker classify_client(std::string_view c);

/// Whether the server's first bytes are a numeric reply; `lowest_class` is the smallest first
/// digit allowed ('2' for SMTP; '1' for FTP, whose 120 means "ready in n minutes").
Greeting classify_server(std::string_view s, char lowest_class);

/// Product words in the greeting: SMTP software, FTP software, or neither/both.
Banner classify_banner(std::string_view s);

}  // namespace botscope::analysis::greeting
