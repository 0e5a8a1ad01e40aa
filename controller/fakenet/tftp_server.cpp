#include "fakenet/tftp_server.h"

#include <algorithm>

#include "analysis/proto/tftp/tftp_parser.h"
#include "fakenet/content.h"
#include "fakenet/raw_sink.h"
#include "util/byte_reader.h"
#include "util/hash.h"
#include "util/text.h"

namespace botscope::fakenet {

namespace tftp = analysis::tftp;

struct TftpServer::Transfer {
    Endpoint client;
    Endpoint original;
    bool write = false;
    std::string file;  ///< as requested (bounded by the parser)
    std::string mode;  ///< lower-case
    std::uint32_t blksize = tftp::kDefaultBlockSize;
    /// RRQ: the block last sent (0 while an OACK waits for ACK 0). WRQ: the block last
    /// acknowledged. Counted past 65535; the wire carries the low 16 bits.
    std::uint64_t block = 0;
    std::string data;     ///< RRQ: the bytes sent (netascii-converted when asked)
    std::string sha256;   ///< RRQ: of the file served
    util::Sha256 hasher;  ///< WRQ: the bytes kept
    std::uint64_t kept = 0;
    std::string last;  ///< the last packet sent, for retransmission
    Millis last_sent = 0;
    Millis last_progress = 0;
    int retries = 0;
    std::uint64_t blocks = 0;
    std::uint64_t bytes = 0;
    bool done = false;  ///< a finished upload, dallying
};

namespace {

void put16(std::string& s, std::uint16_t v) {
    s.push_back(static_cast<char>(v >> 8));
    s.push_back(static_cast<char>(v & 0xFF));
}

std::string packet(tftp::Opcode op, std::uint16_t number) {
    std::string s;
    put16(s, static_cast<std::uint16_t>(op));
    put16(s, number);
    return s;
}

std::string error_packet(std::uint16_t code, std::string_view message) {
    std::string s = packet(tftp::Opcode::kError, code);
    s.append(message);
    s.push_back('\0');
    return s;
}

std::uint16_t wire(std::uint64_t block) {
    return static_cast<std::uint16_t>(block & 0xFFFF);
}

/// RFC 1350 netascii: line ends as CR LF, a lone CR as CR NUL.
std::string to_netascii(std::string_view in) {
    std::string out;
    out.reserve(in.size() + in.size() / 8);
    for (char c : in) {
        if (c == '\n') {
            out += "\r\n";
        } else if (c == '\r') {
            out += std::string_view("\r\0", 2);
        } else {
            out.push_back(c);
        }
    }
    return out;
}

/// The value of a numeric option, when present and a number.
std::optional<std::uint64_t> numeric_option(const tftp::Packet& p, std::string_view name) {
    const tftp::Option* o = tftp::find_option(p.options.items, name);
    if (o == nullptr)
        return std::nullopt;
    return util::parse_u64(o->value);
}

void send(TftpServer::Transfer& t, std::string payload, Millis now, std::vector<TftpSend>& out) {
    t.last = std::move(payload);
    t.last_sent = now;
    t.retries = 0;
    out.push_back({t.client, t.last});
}

/// RRQ block k (1-based) carries data[(k-1)*blksize, ...); the last one is short (maybe empty).
std::uint64_t last_block(const TftpServer::Transfer& t) {
    return t.data.size() / t.blksize + 1;
}

void send_data(TftpServer::Transfer& t, Millis now, std::vector<TftpSend>& out) {
    const std::uint64_t offset = (t.block - 1) * t.blksize;
    std::string p = packet(tftp::Opcode::kData, wire(t.block));
    p.append(std::string_view(t.data).substr(offset, t.blksize));
    send(t, std::move(p), now, out);
}

}  // namespace

TftpServer::TftpServer(Recorder& rec) : rec_(rec) {}
TftpServer::~TftpServer() = default;

std::size_t TftpServer::transfers() const {
    return transfers_.size();
}

bool TftpServer::on_datagram(const Endpoint& client, const Endpoint& original,
                             std::span<const std::uint8_t> data, Millis now,
                             std::vector<TftpSend>& out) {
    const tftp::Packet p = tftp::parse_packet(data);
    auto it = transfers_.find(Key{client.ip, client.port});
    if (!p.ok())
        return it != transfers_.end();  // a broken packet of a transfer is still its packet
    if (p.is_request()) {
        request(client, original, p, now, out);
        return true;
    }
    if (it == transfers_.end())
        return false;
    handle(it, p, now, out);
    return true;
}

void TftpServer::request(const Endpoint& client, const Endpoint& original, const tftp::Packet& p,
                         Millis now, std::vector<TftpSend>& out) {
    const bool write = p.opcode == static_cast<std::uint16_t>(tftp::Opcode::kWrq);
    const Key key{client.ip, client.port};
    if (auto it = transfers_.find(key); it != transfers_.end()) {
        Transfer& old = *it->second;
        if (!old.done && old.write == write && old.file == p.filename) {
            // The client repeated its request: our first answer was lost.
            out.push_back({old.client, old.last});
            old.last_sent = now;
            return;
        }
        end(it, false, "replaced");
    }

    auto t = std::make_unique<Transfer>();
    t->client = client;
    t->original = original;
    t->write = write;
    t->file = p.filename;
    t->mode = util::to_lower(p.mode);
    t->last_progress = now;
    if (t->mode == "mail") {
        out.push_back({client, error_packet(4, "mail mode not supported")});
        record(*t, false, "mode not supported");
        return;
    }
    if (transfers_.size() >= kTftpMaxTransfers) {
        out.push_back({client, error_packet(0, "busy")});
        record(*t, false, "busy");
        return;
    }

    std::string oack;
    put16(oack, static_cast<std::uint16_t>(tftp::Opcode::kOack));
    bool options = false;
    auto grant = [&](std::string_view name, const std::string& value) {
        oack.append(name);
        oack.push_back('\0');
        oack += value;
        oack.push_back('\0');
        options = true;
    };
    if (auto size = numeric_option(p, "blksize"); size && *size >= tftp::kMinBlockSize) {
        t->blksize = static_cast<std::uint32_t>(std::min<std::uint64_t>(*size, kTftpMaxBlockSize));
        grant("blksize", std::to_string(t->blksize));
    }
    if (!write) {
        const Content c = content_for(p.filename);
        t->sha256 = util::sha256_hex(util::as_bytes(c.body));
        t->data = t->mode == "netascii" ? to_netascii(c.body) : c.body;
        if (numeric_option(p, "tsize"))
            grant("tsize", std::to_string(t->data.size()));
    } else if (auto size = numeric_option(p, "tsize")) {
        grant("tsize", std::to_string(*size));  // RFC 2349: the server echoes an upload's size
    }

    if (options) {
        send(*t, std::move(oack), now, out);
    } else if (!write) {
        t->block = 1;
        send_data(*t, now, out);
    } else {
        send(*t, packet(tftp::Opcode::kAck, 0), now, out);
    }
    transfers_.emplace(key, std::move(t));
}

void TftpServer::handle(Map::iterator it, const tftp::Packet& p, Millis now,
                        std::vector<TftpSend>& out) {
    Transfer& t = *it->second;
    switch (static_cast<tftp::Opcode>(p.opcode)) {
        case tftp::Opcode::kAck:
            if (t.write || p.block != wire(t.block))
                return;  // not a reader, or a duplicate or stray ACK: never answered twice
            t.last_progress = now;
            if (t.block > 0) {
                ++t.blocks;
                t.bytes +=
                    std::min<std::uint64_t>(t.blksize, t.data.size() - (t.block - 1) * t.blksize);
                if (t.block == last_block(t))
                    return end(it, true, "");
            }
            ++t.block;
            send_data(t, now, out);
            return;
        case tftp::Opcode::kData: {
            if (!t.write)
                return;
            if (p.block == wire(t.block)) {
                out.push_back({t.client, t.last});  // a repeated block: our ACK was lost
                return;
            }
            if (t.done || p.block != wire(t.block + 1))
                return;
            if (p.data.size() > t.blksize) {
                out.push_back({t.client, error_packet(4, "block too large")});
                return end(it, false, "block too large");
            }
            ++t.block;
            ++t.blocks;
            t.bytes += p.data.size();
            const std::uint64_t room = kTftpMaxKeptBytes - t.kept;
            const auto keep = p.data.first(std::min<std::uint64_t>(room, p.data.size()));
            t.hasher.update(keep);
            t.kept += keep.size();
            t.last_progress = now;
            send(t, packet(tftp::Opcode::kAck, p.block), now, out);
            if (p.data.size() < t.blksize) {
                record(t, true, "");
                t.done = true;
            }
            return;
        }
        case tftp::Opcode::kError:
            if (t.done) {
                transfers_.erase(it);
                return;
            }
            return end(it, false,
                       "client error " + std::to_string(p.error_code) + ": " +
                           printable_text(p.error_message));
        case tftp::Opcode::kRrq:
        case tftp::Opcode::kWrq:
        case tftp::Opcode::kOack:
            return;  // requests are handled before; a client has no OACK to send
    }
}

void TftpServer::on_tick(Millis now, std::vector<TftpSend>& out) {
    for (auto it = transfers_.begin(); it != transfers_.end();) {
        Transfer& t = *it->second;
        auto next = std::next(it);
        if (t.done) {
            if (now - t.last_progress >= kTftpDallyMs)
                transfers_.erase(it);
        } else if (now - t.last_progress >= kTftpIdleMs) {
            end(it, false, "idle");
        } else if (now - t.last_sent >= kTftpRetransmitMs) {
            if (t.retries >= kTftpMaxRetransmits) {
                end(it, false, "timeout");
            } else {
                ++t.retries;
                t.last_sent = now;
                out.push_back({t.client, t.last});
            }
        }
        it = next;
    }
}

void TftpServer::end(Map::iterator it, bool completed, const std::string& reason) {
    if (!it->second->done)
        record(*it->second, completed, reason);
    transfers_.erase(it);
}

void TftpServer::record(Transfer& t, bool completed, const std::string& reason) {
    const bool refused = t.last.empty();
    Json j;
    j["client"] = t.client.to_string();
    j["server"] = t.original.to_string();
    j["op"] = t.write ? "WRQ" : "RRQ";
    j["file"] = printable_text(t.file);
    j["mode"] = printable_text(t.mode);
    j["blocks"] = t.blocks;
    j["bytes"] = t.bytes;
    if (refused)
        j["sha256"] = nullptr;
    else if (t.write)
        j["sha256"] = util::to_hex(t.hasher.finish());
    else
        j["sha256"] = t.sha256;
    j["completed"] = completed;
    j["reason"] = reason.empty() ? Json(nullptr) : Json(reason);
    rec_.record("tftp", std::move(j));
}

}  // namespace botscope::fakenet
