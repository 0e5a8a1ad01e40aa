#include "review/time_text.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ctime>

namespace botscope::review {

namespace {

/// Exactly `n` digits at `pos`, advancing it.
std::optional<int> digits(std::string_view s, std::size_t& pos, std::size_t n) {
    if (pos + n > s.size())
        return std::nullopt;
    int v = 0;
    auto [p, ec] = std::from_chars(s.data() + pos, s.data() + pos + n, v);
    if (ec != std::errc() || p != s.data() + pos + n)
        return std::nullopt;
    pos += n;
    return v;
}

bool take(std::string_view s, std::size_t& pos, char c) {
    if (pos < s.size() && s[pos] == c) {
        ++pos;
        return true;
    }
    return false;
}

/// Days from 1970-01-01 to the civil date (Howard Hinnant's days_from_civil).
std::int64_t days_from_civil(int y, int m, int d) {
    y -= m <= 2 ? 1 : 0;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy =
        (153 * static_cast<unsigned>(m + (m > 2 ? -3 : 9)) + 2) / 5 + static_cast<unsigned>(d) - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

int days_in_month(int y, int m) {
    static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : kDays[m - 1];
}

/// The zone after the time: Z, +HH:MM, -HH:MM (or +HHMM), as seconds east of UTC.
std::optional<int> zone(std::string_view s, std::size_t& pos) {
    if (pos == s.size())
        return 0;
    if (take(s, pos, 'Z') || take(s, pos, 'z'))
        return pos == s.size() ? std::optional<int>(0) : std::nullopt;
    int sign = take(s, pos, '+') ? 1 : take(s, pos, '-') ? -1 : 0;
    if (sign == 0)
        return std::nullopt;
    auto hh = digits(s, pos, 2);
    take(s, pos, ':');
    auto mm = digits(s, pos, 2);
    if (!hh || !mm || *hh > 23 || *mm > 59 || pos != s.size())
        return std::nullopt;
    return sign * (*hh * 3600 + *mm * 60);
}

/// HH:MM[:SS[.fraction]] as seconds into the day.
std::optional<double> time_of_day(std::string_view s, std::size_t& pos) {
    auto hh = digits(s, pos, 2);
    if (!hh || !take(s, pos, ':'))
        return std::nullopt;
    auto mm = digits(s, pos, 2);
    if (!mm || *hh > 23 || *mm > 59)
        return std::nullopt;
    double secs = *hh * 3600.0 + *mm * 60.0;
    if (take(s, pos, ':')) {
        auto ss = digits(s, pos, 2);
        if (!ss || *ss > 60)
            return std::nullopt;
        secs += *ss;
        if (take(s, pos, '.') || take(s, pos, ',')) {
            double scale = 0.1;
            std::size_t start = pos;
            while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9' && pos - start < 9) {
                secs += (s[pos++] - '0') * scale;
                scale /= 10;
            }
            if (pos == start)
                return std::nullopt;
        }
    }
    return secs;
}

std::string format(double epoch, bool millis) {
    if (!std::isfinite(epoch) || epoch < 0)
        epoch = 0;
    if (epoch > 253402300799.0)  // 9999-12-31T23:59:59Z
        epoch = 253402300799.0;
    auto whole = static_cast<std::time_t>(epoch);
    int ms = static_cast<int>(std::lround((epoch - static_cast<double>(whole)) * 1000));
    if (ms == 1000) {
        ++whole;
        ms = 0;
    }
    std::tm tm{};
    gmtime_r(&whole, &tm);
    char buf[40];
    std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    if (millis)
        std::snprintf(buf + n, sizeof buf - n, ".%03dZ", ms);
    else
        std::snprintf(buf + n, sizeof buf - n, "Z");
    return buf;
}

}  // namespace

std::optional<double> parse_time(std::string_view s) {
    std::size_t pos = 0;
    auto y = digits(s, pos, 4);
    if (!y || !take(s, pos, '-'))
        return std::nullopt;
    auto m = digits(s, pos, 2);
    if (!m || !take(s, pos, '-'))
        return std::nullopt;
    auto d = digits(s, pos, 2);
    if (!d || *m < 1 || *m > 12 || *d < 1 || *d > days_in_month(*y, *m))
        return std::nullopt;
    double t = static_cast<double>(days_from_civil(*y, *m, *d)) * 86400.0;
    if (pos == s.size())
        return t;
    if (!take(s, pos, 'T') && !take(s, pos, 't') && !take(s, pos, ' '))
        return std::nullopt;
    auto tod = time_of_day(s, pos);
    if (!tod)
        return std::nullopt;
    auto z = zone(s, pos);
    if (!z)
        return std::nullopt;
    return t + *tod - *z;
}

std::string format_time_ms(double epoch) {
    return format(epoch, true);
}

std::string format_time(double epoch) {
    return format(epoch, false);
}

}  // namespace botscope::review
