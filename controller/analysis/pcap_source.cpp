#include "analysis/pcap_source.h"

#include <pcap/pcap.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "analysis/engine.h"
#include "analysis/engine/decode.h"

namespace botscope::analysis {

namespace {

/// The latest capture time accepted (2096-10-02): leaves ~160 years of headroom in the
/// nanosecond Timestamp for timeouts added to it.
constexpr std::int64_t kMaxCaptureSeconds = 4'000'000'000;

/// The stdio buffer under libpcap's reads. libpcap reads a file through stdio, whose buffer is
/// the file system's block (4 KiB): a read(2) per 4 KiB was a fifth of the analysis of a
/// capture of large transfers. The closer owns it, so it outlives the FILE that pcap_close
/// closes.
constexpr std::size_t kReadBuffer = std::size_t{1} << 20;

struct PcapCloser {
    std::unique_ptr<char[]> buffer;
    void operator()(pcap_t* p) const { pcap_close(p); }
};
using PcapHandle = std::unique_ptr<pcap_t, PcapCloser>;

struct FileFacts {
    CaptureError error = CaptureError::kNone;
    std::string message;
    std::uint64_t size = 0;
    std::string format;
    std::string byte_order;
    std::string precision;
};

std::string one_line(std::string s) {
    for (auto& c : s)
        if (c == '\n' || c == '\r')
            c = ' ';
    while (!s.empty() && s.back() == ' ')
        s.pop_back();
    return s;
}

// Looks at the file before libpcap does, to name the format and give precise errors.
void classify(const std::string& path, std::span<const unsigned char> head, FileFacts& f);

FileFacts inspect(const std::string& path) {
    FileFacts f;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        f.error = errno == ENOENT ? CaptureError::kNotFound : CaptureError::kUnreadable;
        f.message = path + ": " + std::strerror(errno);
        return f;
    }
    if (S_ISDIR(st.st_mode)) {
        f.error = CaptureError::kUnreadable;
        f.message = path + ": is a directory, not a capture file";
        return f;
    }
    f.size = static_cast<std::uint64_t>(st.st_size);
    if (f.size == 0) {
        f.error = CaptureError::kEmpty;
        f.message = path + ": empty file (0 bytes), not a capture";
        return f;
    }
    std::FILE* fp = std::fopen(path.c_str(), "rb");
    if (!fp) {
        f.error = CaptureError::kUnreadable;
        f.message = path + ": " + std::strerror(errno);
        return f;
    }
    unsigned char head[12] = {};
    std::size_t n = std::fread(head, 1, sizeof head, fp);
    std::fclose(fp);
    classify(path, {head, n}, f);
    return f;
}

// Names the format from the first bytes; sets an error when they are no capture's.
void classify(const std::string& path, std::span<const unsigned char> head, FileFacts& f) {
    std::size_t n = head.size();
    auto le32 = [&](int o) {
        return std::uint32_t{head[o]} | (std::uint32_t{head[o + 1]} << 8) |
               (std::uint32_t{head[o + 2]} << 16) | (std::uint32_t{head[o + 3]} << 24);
    };
    if (n < 4) {
        f.error = CaptureError::kNotCapture;
        f.message = path + ": too short to be a capture file (" + std::to_string(n) + " bytes)";
        return;
    }
    std::uint32_t magic = le32(0);
    switch (magic) {
        case 0xa1b2c3d4:
            f.format = "pcap", f.byte_order = "little-endian", f.precision = "microsecond";
            break;
        case 0xd4c3b2a1:
            f.format = "pcap", f.byte_order = "big-endian", f.precision = "microsecond";
            break;
        case 0xa1b23c4d:
            f.format = "pcap", f.byte_order = "little-endian", f.precision = "nanosecond";
            break;
        case 0x4d3cb2a1:
            f.format = "pcap", f.byte_order = "big-endian", f.precision = "nanosecond";
            break;
        case 0x0a0d0d0a:
            f.format = "pcapng";
            if (n >= 12) {
                std::uint32_t bom = le32(8);
                f.byte_order = bom == 0x1a2b3c4d ? "little-endian"
                                                 : (bom == 0x4d3c2b1a ? "big-endian" : "unknown");
            }
            f.precision = "per-interface";
            break;
        default:
            f.error = CaptureError::kNotCapture;
            f.message = path + ": not a pcap or pcapng capture (unknown magic number)";
            return;
    }
}

PcapHandle open_capture(const std::string& path, FileFacts& facts) {
    std::FILE* fp = std::fopen(path.c_str(), "rbe");
    if (!fp) {
        facts.error = CaptureError::kUnreadable;
        facts.message = path + ": " + std::strerror(errno);
        return PcapHandle(nullptr);
    }
    auto buffer = std::make_unique<char[]>(kReadBuffer);
    std::setvbuf(fp, buffer.get(), _IOFBF, kReadBuffer);
    char errbuf[PCAP_ERRBUF_SIZE] = {};
    pcap_t* p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_NANO, errbuf);
    if (!p) {
        std::fclose(fp);
        facts.error = CaptureError::kBadHeader;
        facts.message = path + ": cannot read " + facts.format + " header: " + one_line(errbuf);
        return PcapHandle(nullptr);
    }
    return PcapHandle(p, PcapCloser{std::move(buffer)});
}

}  // namespace

const char* capture_error_name(CaptureError e) {
    switch (e) {
        case CaptureError::kNone:
            return "none";
        case CaptureError::kNotFound:
            return "not_found";
        case CaptureError::kUnreadable:
            return "unreadable";
        case CaptureError::kEmpty:
            return "empty";
        case CaptureError::kNotCapture:
            return "not_a_capture";
        case CaptureError::kUnsupportedLink:
            return "unsupported_link_type";
        case CaptureError::kBadHeader:
            return "bad_header";
    }
    return "unknown";
}

namespace {

AnalyzeOutcome analyze_open(const std::string& path, PcapHandle p, const FileFacts& facts,
                            const ProgressFn& progress, const detect::Config& config, LogSink* logs,
                            StreamInspector* inspector = nullptr) {
    AnalyzeOutcome out;
    int link = pcap_datalink(p.get());
    if (!link_type_supported(link)) {
        out.error = CaptureError::kUnsupportedLink;
        const char* name = pcap_datalink_val_to_name(link);
        out.message = path + ": unsupported link type " + std::to_string(link) +
                      (name ? std::string(" (") + name + ")" : std::string());
        return out;
    }

    Engine engine(link, config, logs);
    engine.inspect_streams(inspector);
    std::FILE* fp = pcap_file(p.get());
    bool truncated = false;
    std::string reason;
    std::uint64_t n = 0;
    std::uint64_t ts_clamped = 0;
    for (;;) {
        pcap_pkthdr* hdr = nullptr;
        const u_char* data = nullptr;
        int rc = pcap_next_ex(p.get(), &hdr, &data);
        if (rc == 1) {
            // Seconds past 2096 (or before 1970) are corrupt or hostile: clamped, and counted,
            // so that no time arithmetic downstream can overflow.
            std::int64_t secs = std::clamp<std::int64_t>(hdr->ts.tv_sec, 0, kMaxCaptureSeconds);
            std::int64_t frac = std::clamp<std::int64_t>(hdr->ts.tv_usec, 0, 999'999'999);
            if (secs != hdr->ts.tv_sec || frac != hdr->ts.tv_usec)
                ++ts_clamped;
            Timestamp ts = secs * 1'000'000'000 + frac;
            std::uint32_t wire = std::max(hdr->len, hdr->caplen);
            engine.process(ts, {data, hdr->caplen}, wire);
            if (progress && (++n & 0xffff) == 0 && fp) {
                long pos = std::ftell(fp);
                if (pos >= 0)
                    progress(static_cast<std::uint64_t>(pos), facts.size);
            }
            continue;
        }
        if (rc == PCAP_ERROR_BREAK)
            break;  // end of file
        truncated = true;
        reason = one_line(pcap_geterr(p.get()));
        break;
    }
    if (progress)
        progress(facts.size, facts.size);

    out.result = engine.finish(&out.behavior);
    CaptureInfo& cap = out.result.capture;
    cap.format = facts.format;
    cap.byte_order = facts.byte_order;
    cap.ts_precision = facts.format == "pcapng" ? "nanosecond" : facts.precision;
    cap.link_type = link;
    cap.link_name = link_type_name(link);
    cap.snaplen = static_cast<std::uint32_t>(pcap_snapshot(p.get()));
    cap.file_size = facts.size;
    cap.truncated = truncated;
    cap.truncation_reason = reason;
    cap.ts_clamped = ts_clamped;
    return out;
}

}  // namespace

AnalyzeOutcome analyze_capture_file(const std::string& path, const ProgressFn& progress,
                                    const detect::Config& config, LogSink* logs,
                                    StreamInspector* inspector) {
    FileFacts facts = inspect(path);
    if (facts.error == CaptureError::kNone) {
        PcapHandle p = open_capture(path, facts);
        if (p)
            return analyze_open(path, std::move(p), facts, progress, config, logs, inspector);
    }
    AnalyzeOutcome out;
    out.error = facts.error;
    out.message = facts.message;
    return out;
}

AnalyzeOutcome analyze_capture_bytes(std::span<const std::uint8_t> bytes, LogSink* logs,
                                     StreamInspector* inspector) {
    const std::string name = "<memory>";
    FileFacts facts;
    facts.size = bytes.size();
    AnalyzeOutcome out;
    if (bytes.empty()) {
        out.error = CaptureError::kEmpty;
        out.message = name + ": empty";
        return out;
    }
    classify(name, bytes.first(std::min<std::size_t>(bytes.size(), 12)), facts);
    if (facts.error != CaptureError::kNone) {
        out.error = facts.error;
        out.message = facts.message;
        return out;
    }
    // libpcap reads through stdio; fmemopen gives it the buffer without a copy.
    std::FILE* fp = ::fmemopen(const_cast<std::uint8_t*>(bytes.data()), bytes.size(), "rb");
    if (!fp) {
        out.error = CaptureError::kUnreadable;
        out.message = name + ": fmemopen failed";
        return out;
    }
    char errbuf[PCAP_ERRBUF_SIZE] = {};
    pcap_t* p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_NANO, errbuf);
    if (!p) {
        std::fclose(fp);
        out.error = CaptureError::kBadHeader;
        out.message = name + ": " + one_line(errbuf);
        return out;
    }
    return analyze_open(name, PcapHandle(p), facts, {}, {}, logs, inspector);
}

ReadLoopStats bare_read_loop(const std::string& path) {
    ReadLoopStats s;
    FileFacts facts = inspect(path);
    if (facts.error != CaptureError::kNone) {
        s.message = facts.message;
        return s;
    }
    PcapHandle p = open_capture(path, facts);
    if (!p) {
        s.message = facts.message;
        return s;
    }
    pcap_pkthdr* hdr = nullptr;
    const u_char* data = nullptr;
    while (pcap_next_ex(p.get(), &hdr, &data) == 1) {
        ++s.packets;
        s.bytes += hdr->caplen;
    }
    s.ok = true;
    return s;
}

}  // namespace botscope::analysis
