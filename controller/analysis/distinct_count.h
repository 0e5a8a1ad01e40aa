#pragma once
// Counting distinct values past a list's cap: HyperLogLog (Flajolet, Fusy, Gandouet, Meunier,
// 2007) with 2^12 one-byte registers, 4 KiB whatever the count. Its relative standard error is
// 1.04 / sqrt(4096) = 1.6 %; below 2.5 × 4096 it switches to linear counting, which is nearly
// exact there. A flood from a million spoofed sources is then reported as "about 1.0 million
// (± 1.6 %)" instead of the size of a list.

#include <array>
#include <bit>
#include <cmath>
#include <cstdint>

#include "analysis/types.h"

namespace botscope::analysis {

class DistinctCounter {
public:
    static constexpr int kIndexBits = 12;
    static constexpr std::size_t kRegisters = std::size_t{1} << kIndexBits;
    /// One standard deviation of the estimate, relative to the true count.
    static constexpr double kRelativeError = 1.04 / 64.0;

    /// Adds a value by its 64-bit hash, which must spread every bit (IpAddressHash does).
    void add(std::uint64_t hash) {
        std::size_t index = hash >> (64 - kIndexBits);
        // The rank of the first 1 bit in what remains; the marker bit bounds it.
        std::uint64_t rest = (hash << kIndexBits) | (std::uint64_t{1} << (kIndexBits - 1));
        auto rank = static_cast<std::uint8_t>(std::countl_zero(rest) + 1);
        if (rank > reg_[index])
            reg_[index] = rank;
    }

    std::uint64_t estimate() const {
        double sum = 0;
        std::size_t zeros = 0;
        for (std::uint8_t r : reg_) {
            sum += std::ldexp(1.0, -r);
            zeros += r == 0;
        }
        constexpr double m = static_cast<double>(kRegisters);
        double e = (0.7213 / (1 + 1.079 / m)) * m * m / sum;
        if (e <= 2.5 * m && zeros > 0)
            e = m * std::log(m / static_cast<double>(zeros));
        return static_cast<std::uint64_t>(std::llround(e));
    }

    /// IpAddressHash spreads every bit, as the sketch needs.
    static std::uint64_t hash(const IpAddress& a) { return IpAddressHash{}(a); }

private:
    std::array<std::uint8_t, kRegisters> reg_{};
};

}  // namespace botscope::analysis
