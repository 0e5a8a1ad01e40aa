#include "fakenet/firewall.h"

#include <nftables/libnftables.h>

#include <algorithm>
#include <memory>
#include <set>

#include <nlohmann/json.hpp>

#include "fakenet/netlink.h"

namespace botscope::fakenet {

namespace {

struct CtxFree {
    void operator()(nft_ctx* c) const { nft_ctx_free(c); }
};
using Ctx = std::unique_ptr<nft_ctx, CtxFree>;

/// Runs nftables commands; the output (JSON when asked) or nftables' own error text.
util::Result<std::string> run(const std::string& commands, bool json = false) {
    Ctx ctx(nft_ctx_new(NFT_CTX_DEFAULT));
    if (!ctx)
        return util::Error{"firewall", "cannot create an nftables context"};
    nft_ctx_buffer_output(ctx.get());
    nft_ctx_buffer_error(ctx.get());
    if (json)
        nft_ctx_output_set_flags(ctx.get(), NFT_CTX_OUTPUT_JSON);
    if (nft_run_cmd_from_buffer(ctx.get(), commands.c_str()) != 0) {
        std::string err = nft_ctx_get_error_buffer(ctx.get());
        while (!err.empty() && (err.back() == '\n' || err.back() == ' '))
            err.pop_back();
        return util::Error{"firewall", "nftables: " + (err.empty() ? "failed" : err)};
    }
    return std::string(nft_ctx_get_output_buffer(ctx.get()));
}

/// Interface names go into the ruleset inside quotes: nothing that could end them.
bool safe_name(const std::string& n) {
    return !n.empty() && n.size() < 16 && std::all_of(n.begin(), n.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '_' || c == '.';
    });
}

}  // namespace

std::string table_name(const std::string& bridge) {
    std::string t = "botscope_";
    for (char c : bridge)
        t += (c == '-' || c == '.') ? '_' : c;
    return t;
}

std::string firewall_ruleset(const FirewallSpec& s) {
    const std::string br = '"' + s.bridge + '"';
    const std::string host = format_ipv4(s.sandbox.host);
    const std::string tcp = std::to_string(s.tcp_port), udp = std::to_string(s.udp_port);
    const std::string t = table_name(s.bridge);
    std::string r;
    auto line = [&r](const std::string& l) { r += l + "\n"; };
    // One transaction: create (so that the delete cannot fail), delete, define anew.
    line("table inet " + t);
    line("delete table inet " + t);
    line("table inet " + t + " {");
    line("    counter redirected { }");
    line("    counter dropped_in { }");
    line("    counter forwarded { }");
    line("    chain prerouting {");
    line("        type nat hook prerouting priority dstnat; policy accept;");
    line("        iifname != " + br + " return");
    line("        fib daddr type { broadcast, multicast } return");
    line("        meta nfproto ipv4 meta l4proto tcp counter name \"redirected\" dnat ip to " +
         host + ":" + tcp);
    line("        meta nfproto ipv4 meta l4proto udp counter name \"redirected\" dnat ip to " +
         host + ":" + udp);
    if (s.answer_ping)
        line("        icmp type echo-request dnat ip to " + host);
    line("    }");
    line("    chain input {");
    line("        type filter hook input priority filter - 10; policy accept;");
    line("        iifname != " + br + " return");
    line("        meta nfproto ipv6 counter name \"dropped_in\" drop");
    line("        ct state established,related accept");
    line("        ct status dnat ip daddr " + host + " tcp dport " + tcp + " accept");
    line("        ct status dnat ip daddr " + host + " udp dport " + udp + " accept");
    if (s.answer_ping)
        line("        ct status dnat icmp type echo-request accept");
    line("        counter name \"dropped_in\" drop");
    line("    }");
    line("    chain forward {");
    line("        type filter hook forward priority filter - 10; policy accept;");
    line("        iifname " + br + " counter name \"forwarded\" drop");
    line("        oifname " + br + " counter name \"forwarded\" drop");
    line("    }");
    line("}");
    return r;
}

util::Result<util::Done> apply_firewall(const FirewallSpec& spec) {
    if (!safe_name(spec.bridge))
        return util::Error{"firewall", "bad bridge name '" + spec.bridge + "'"};
    if (spec.tcp_port == 0 || spec.udp_port == 0)
        return util::Error{"firewall", "fakenet's ports must be known before the firewall"};
    auto r = run(firewall_ruleset(spec));
    if (!r)
        return r.error();
    return util::Done{};
}

util::Result<util::Done> remove_firewall(const std::string& bridge) {
    if (!safe_name(bridge))
        return util::Error{"firewall", "bad bridge name '" + bridge + "'"};
    const std::string t = table_name(bridge);
    auto r = run("table inet " + t + "\ndelete table inet " + t + "\n");
    if (!r)
        return r.error();
    return util::Done{};
}

bool firewall_present(const std::string& bridge) {
    return safe_name(bridge) && run("list table inet " + table_name(bridge)).ok();
}

util::Result<FirewallCounters> firewall_counters(const std::string& bridge) {
    if (!safe_name(bridge))
        return util::Error{"firewall", "bad bridge name '" + bridge + "'"};
    auto out = run("list counters table inet " + table_name(bridge), true);
    if (!out)
        return out.error();
    auto j = nlohmann::json::parse(out.value(), nullptr, false);
    if (j.is_discarded() || !j.contains("nftables") || !j["nftables"].is_array())
        return util::Error{"firewall", "nftables listed the counters in an unknown form"};
    FirewallCounters c;
    for (const auto& e : j["nftables"]) {
        if (!e.contains("counter"))
            continue;
        const auto& k = e["counter"];
        std::string name = k.value("name", "");
        std::uint64_t packets = k.value("packets", std::uint64_t{0});
        if (name == "redirected")
            c.redirected = packets;
        else if (name == "dropped_in")
            c.dropped_in = packets;
        else if (name == "forwarded")
            c.forwarded = packets;
    }
    return c;
}

util::Result<std::size_t> release_guest_decoys(const FirewallSpec& spec) {
    auto have = interface_addresses(spec.bridge);
    if (!have)
        return have.error();
    std::vector<Ipv4> stale;
    for (const auto& [ip, prefix] : have.value())
        if (prefix == 32 && spec.sandbox.is_guest(ip))
            stale.push_back(ip);
    if (stale.empty())
        return std::size_t{0};
    return remove_host_addresses(spec.bridge, stale);
}

util::Result<std::size_t> ensure_decoys(const FirewallSpec& spec) {
    if (auto r = release_guest_decoys(spec); !r)
        return r.error();
    auto have = interface_addresses(spec.bridge);
    if (!have)
        return have.error();
    std::set<Ipv4> present;
    for (const auto& [ip, prefix] : have.value())
        present.insert(ip);
    std::vector<Ipv4> missing;
    for (Ipv4 ip : spec.sandbox.decoys())
        if (!present.count(ip))
            missing.push_back(ip);
    if (missing.empty())
        return std::size_t{0};
    return add_host_addresses(spec.bridge, missing);
}

util::Result<std::size_t> remove_decoys(const FirewallSpec& spec) {
    auto have = interface_addresses(spec.bridge);
    if (!have)
        return have.error();
    std::vector<Ipv4> ours;
    for (const auto& [ip, prefix] : have.value())
        if (prefix == 32 && ip != spec.sandbox.host && spec.sandbox.contains(ip))
            ours.push_back(ip);
    if (ours.empty())
        return std::size_t{0};
    return remove_host_addresses(spec.bridge, ours);
}

util::Result<std::string> ruleset_without_ours(const std::string& bridge) {
    auto out = run("list ruleset", true);
    if (!out)
        return out.error();
    auto j = nlohmann::json::parse(out.value(), nullptr, false);
    if (j.is_discarded() || !j.contains("nftables") || !j["nftables"].is_array())
        return util::Error{"firewall", "nftables listed the ruleset in an unknown form"};
    const std::string ours = table_name(bridge);
    nlohmann::json kept = nlohmann::json::array();
    for (const auto& e : j["nftables"]) {
        bool mine = false;
        for (const auto& [kind, v] : e.items()) {
            if (!v.is_object())
                continue;
            if (kind == "table")
                mine = v.value("family", "") == "inet" && v.value("name", "") == ours;
            else if (v.contains("table") && v["table"].is_string())
                mine = v.value("family", "") == "inet" && v["table"] == ours;
        }
        if (!mine && !e.contains("metainfo"))
            kept.push_back(e);
    }
    return kept.dump(1);
}

}  // namespace botscope::fakenet
