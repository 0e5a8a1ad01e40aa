#include "analysis/registry.h"

namespace botscope::analysis {

namespace {

template <typename A, auto Member>
std::unique_ptr<StreamAnalyzer> make_stream(const AnalyzerContext& ctx, NetworkResult& r) {
    return std::make_unique<A>(ctx, r.*Member);
}

std::unique_ptr<StreamAnalyzer> make_ftp(const AnalyzerContext& ctx, NetworkResult& r) {
    return std::make_unique<ftp::FtpAnalyzer>(ctx, r.ftp, &r.data_streams);
}

template <typename A, auto Member>
std::unique_ptr<DatagramAnalyzer> make_datagram(NetworkResult& r, LogSink* logs) {
    return std::make_unique<A>(r.*Member, logs);
}

constexpr StreamAnalyzerEntry kStreamAnalyzers[] = {
    {"http", &http::probe, &make_stream<http::HttpAnalyzer, &NetworkResult::http>},
    {"irc", &irc::probe, &make_stream<irc::IrcAnalyzer, &NetworkResult::irc>},
    {"smtp", &smtp::probe, &make_stream<smtp::SmtpAnalyzer, &NetworkResult::smtp>},
    {"ftp", &ftp::probe, &make_ftp},
    {"dns", &dns::probe, &make_stream<dns::DnsTcpAnalyzer, &NetworkResult::dns>},
    // Last: by content on any port, once no protocol claimed the stream.
    {"shell", &shell::probe, &make_stream<shell::ShellAnalyzer, &NetworkResult::shell>},
};

constexpr DatagramAnalyzerEntry kDatagramAnalyzers[] = {
    {"dns", &make_datagram<dns::DnsUdpAnalyzer, &NetworkResult::dns>},
    {"tftp", &make_datagram<tftp::TftpAnalyzer, &NetworkResult::tftp>},
};

}  // namespace

std::span<const StreamAnalyzerEntry> stream_analyzers() {
    return kStreamAnalyzers;
}
std::span<const DatagramAnalyzerEntry> datagram_analyzers() {
    return kDatagramAnalyzers;
}

}  // namespace botscope::analysis
