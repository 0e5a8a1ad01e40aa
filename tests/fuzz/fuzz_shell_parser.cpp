// libFuzzer target for the remote-shell parser and analyzer. The first bytes steer the run:
// where the input is cut into chunks, which direction each chunk goes to, and whether a gap is
// injected. Every chunk is copied into its own heap buffer of exactly its size so
// AddressSanitizer sees any read past its end.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string_view>

#include "analysis/proto/shell/shell_analyzer.h"
#include "analysis/proto/shell/shell_parser.h"

using namespace botscope::analysis;

namespace {

std::unique_ptr<std::uint8_t[]> copy_of(const std::uint8_t* data, std::size_t size) {
    auto buf = std::make_unique<std::uint8_t[]>(size == 0 ? 1 : size);
    if (size > 0)
        std::memcpy(buf.get(), data, size);
    return buf;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 4)
        return 0;
    const std::uint8_t steer[4] = {data[0], data[1], data[2], data[3]};
    data += 4;
    size -= 4;

    {
        auto buf = copy_of(data, size);
        std::string_view text(reinterpret_cast<const char*>(buf.get()), size);
        (void)shell::classify_opening({buf.get(), size});
        while (!text.empty()) {
            std::size_t nl = text.find('\n');
            for (const auto& a : shell::parse_line(text.substr(0, nl)))
                (void)shell::file_key(a.file);
            if (nl == std::string_view::npos)
                break;
            text.remove_prefix(nl + 1);
        }
        std::size_t half = size / 2;
        auto a = copy_of(data, half);
        auto b = copy_of(data + half, size - half);
        ProbeInput in;
        in.orig = {a.get(), half};
        in.resp = {b.get(), size - half};
        (void)shell::probe(in);
    }

    Weirds weirds;
    shell::ShellResult result;
    FlowInfo flow;
    flow.id = 1;
    flow.transport = Transport::kTcp;
    AnalyzerContext ctx{flow, &weirds};
    shell::ShellAnalyzer analyzer(ctx, result);

    std::size_t cuts[5];
    std::size_t n = 0;
    for (int i = 0; i < 4 && size > 0; ++i)
        cuts[n++] = (steer[i] * size) / 256;
    cuts[n++] = size;
    std::size_t pos = 0;
    Timestamp ts = 1'000'000'000;
    for (std::size_t i = 0; i < n; ++i) {
        std::size_t end = cuts[i] < pos ? pos : cuts[i];
        auto chunk = copy_of(data + pos, end - pos);
        Direction dir = (steer[i % 4] & 1) ? Direction::kResp : Direction::kOrig;
        analyzer.on_data(dir, {chunk.get(), end - pos}, ts);
        if ((steer[i % 4] & 0x6) == 0x6)
            analyzer.on_gap(dir, 10, ts);
        pos = end;
        ts += 1000;
    }
    analyzer.on_end(ts);
    return 0;
}
