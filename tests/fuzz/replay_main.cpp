// Replays fuzz inputs without libFuzzer: every file named on the command line (or found in a
// named directory) is read into its own heap buffer of exactly its size, so AddressSanitizer
// sees any read past the end, and passed to LLVMFuzzerTestOneInput.

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

bool run_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        std::fprintf(stderr, "replay: cannot read %s\n", path.c_str());
        return false;
    }
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto buf = std::make_unique<std::uint8_t[]>(bytes.size());
    if (!bytes.empty())
        std::memcpy(buf.get(), bytes.data(), bytes.size());
    LLVMFuzzerTestOneInput(buf.get(), bytes.size());
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    int files = 0;
    for (int i = 1; i < argc; ++i) {
        std::filesystem::path p(argv[i]);
        std::error_code ec;
        if (std::filesystem::is_directory(p, ec)) {
            std::vector<std::filesystem::path> entries;
            for (const auto& e : std::filesystem::directory_iterator(p))
                if (e.is_regular_file())
                    entries.push_back(e.path());
            std::sort(entries.begin(), entries.end());
            for (const auto& e : entries) {
                if (!run_file(e))
                    return 1;
                ++files;
            }
        } else {
            if (!run_file(p))
                return 1;
            ++files;
        }
    }
    if (files == 0) {
        std::fprintf(stderr, "replay: no inputs\n");
        return 1;
    }
    std::printf("replayed %d inputs\n", files);
    return 0;
}
