#pragma once
// Where the engine streams its full records while it runs (report/jsonl_logs.h writes them
// as JSON lines). The in-memory result keeps bounded samples for the report and the
// detectors; the sink gets every record, each once, when it is complete.

namespace botscope::analysis {

struct FlowRecord;
namespace dns {
struct DnsTransaction;
}
namespace http {
struct HttpTransaction;
}
namespace irc {
struct IrcSession;
}
namespace smtp {
struct SmtpSession;
}
namespace ftp {
struct FtpSession;
}
namespace tftp {
struct TftpTransfer;
}
namespace shell {
struct ShellSession;
}

class LogSink {
public:
    virtual ~LogSink() = default;
    /// A flow that ended (by expiry, eviction, or the end of the capture).
    virtual void flow(const FlowRecord& r) = 0;
    // A sink overrides the records it wants; flows it must take.
    /// A DNS query and its response, once the flow ended or its id was reused.
    virtual void dns(const dns::DnsTransaction& /*t*/) {}
    /// An HTTP request and its response, once both are complete (or the connection ended).
    virtual void http(const http::HttpTransaction& /*t*/) {}
    /// A whole IRC, SMTP, FTP or shell connection, when it ended.
    virtual void irc(const irc::IrcSession& /*s*/) {}
    virtual void smtp(const smtp::SmtpSession& /*s*/) {}
    virtual void ftp(const ftp::FtpSession& /*s*/) {}
    virtual void shell(const shell::ShellSession& /*s*/) {}
    /// A TFTP transfer, when it completed, failed or went idle.
    virtual void tftp(const tftp::TftpTransfer& /*t*/) {}
};

}  // namespace botscope::analysis
