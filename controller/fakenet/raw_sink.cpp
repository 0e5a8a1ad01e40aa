#include "fakenet/raw_sink.h"

#include <algorithm>

#include "util/byte_reader.h"
#include "util/hash.h"

namespace botscope::fakenet {

namespace {

void describe_first(Json& j, std::string_view kept) {
    j["first"] = printable_text(kept);
    j["first_hex"] = util::to_hex(util::as_bytes(kept));
}

class RawSession : public TcpSession {
public:
    RawSession(const ConnInfo& conn, Protocol detected, Recorder& rec)
        : conn_(conn), detected_(detected), rec_(rec) {}

    void on_data(std::string_view data, Millis now, Output& out) override {
        (void)now;
        const std::size_t room = kKeepBytes - kept_.size();
        kept_.append(data.substr(0, std::min(room, data.size())));
        bytes_ += data.size();
        if (bytes_ >= kMaxBytes && !closing_) {
            closing_ = true;
            out.close = true;
        }
    }

    void on_close(Millis now) override {
        (void)now;
        if (recorded_)
            return;
        recorded_ = true;
        Json j = connection_fields(conn_);
        j["protocol"] = protocol_name(detected_);
        j["bytes"] = bytes_;
        describe_first(j, kept_);
        rec_.record("tcp", std::move(j));
    }

    std::size_t buffered() const override { return kept_.size(); }

private:
    ConnInfo conn_;
    Protocol detected_;
    Recorder& rec_;
    std::string kept_;
    std::uint64_t bytes_ = 0;
    bool closing_ = false;
    bool recorded_ = false;
};

}  // namespace

std::string printable_text(std::string_view bytes) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size());
    for (unsigned char c : bytes) {
        if (c >= 0x20 && c <= 0x7e) {
            out.push_back(static_cast<char>(c));
        } else {
            out += "\\x";
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 0x0F]);
        }
    }
    return out;
}

Json printable_or_null(const std::optional<std::string>& bytes) {
    return bytes ? Json(printable_text(*bytes)) : Json(nullptr);
}

Json connection_fields(const ConnInfo& conn) {
    Json j;
    j["conn"] = conn.id;
    j["client"] = conn.client.to_string();
    j["server"] = conn.original.to_string();
    return j;
}

std::unique_ptr<TcpSession> make_raw_session(const ConnInfo& conn, Protocol detected,
                                             Recorder& rec) {
    return std::make_unique<RawSession>(conn, detected, rec);
}

void record_udp(const Endpoint& client, const Endpoint& original,
                std::span<const std::uint8_t> data, Recorder& rec) {
    Json j;
    j["client"] = client.to_string();
    j["server"] = original.to_string();
    j["bytes"] = data.size();
    describe_first(j, util::as_chars(data.first(std::min(data.size(), kKeepBytes))));
    rec.record("udp", std::move(j));
}

}  // namespace botscope::fakenet
