// libFuzzer target for operator scripts and for the scripts written from captured commands.
// The input is parsed as a script; a script that is accepted must keep every promise of
// operator_script.h once expanded with a few sets of bot values: no foreign address, no text
// past kMaxStepText, no control character, its limits. (A bot can pick a nick that forms an
// address with the text around $NICK, "0$NICK1" with "x" is 0x1: the IRC server checks each
// line again with the bot's real values before it sends it; the values here form none.) Then every
// line of the input is a command a bot received (a few of them private or topics, a pause of the
// line's length in seconds before each): script_from_capture() must rewrite them into a script that
// loads, or find nothing to replay; any other answer is a bug.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "fakenet/operator_script.h"

using namespace botscope::fakenet;
namespace detect = botscope::analysis::detect;

namespace {

void fail(const char* why, std::string_view detail) {
    std::fprintf(stderr, "fuzz_operator_script: %s: %.*s\n", why, static_cast<int>(detail.size()),
                 detail.data());
    std::abort();
}

bool forbidden(unsigned char c) {
    bool format = c == 0x02 || c == 0x03 || c == 0x0F || c == 0x16 || c == 0x1D || c == 0x1F;
    return (c < 0x20 && c != '\t' && !format) || c == 0x7F;
}

void check_script(const OperatorScript& s, const Sandbox& sb) {
    if (s.steps.empty() || s.steps.size() > kMaxScriptSteps)
        fail("step count", s.name);
    if (s.total_millis() > kMaxScriptMillis)
        fail("total time", s.name);
    if (!is_acceptable_nick(s.nick))
        fail("operator nick", s.nick);
    const OperatorVars vars[] = {
        {"[USA|XP|SP2]-48213", "#botnet", 0x0A42000Au},
        {"bot", "#c", 0x0A4200FEu},
        {std::string(kMaxOperatorNick, 'W'), "#" + std::string(kMaxChannelName - 1, 'c'),
         0x0A4200FFu},
    };
    for (const auto& st : s.steps) {
        if (st.kind == OperatorStep::Kind::kWait || st.kind == OperatorStep::Kind::kExpect) {
            if (st.millis <= 0 || st.millis > kMaxStepMillis)
                fail("a step's time", st.text);
        }
        for (const auto& v : vars) {
            std::string text = expand_operator_text(st.text, sb, v);
            if (text.size() > kMaxStepText)
                fail("text too long after expansion", text);
            for (char ch : text)
                if (forbidden(static_cast<unsigned char>(ch)))
                    fail("control character after expansion", text);
            if (!foreign_addresses(text, sb).empty())
                fail("foreign address after expansion", text);
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto buf = std::make_unique<char[]>(size == 0 ? 1 : size);
    for (std::size_t i = 0; i < size; ++i)
        buf[i] = static_cast<char>(data[i]);
    std::string_view text(buf.get(), size);
    const Sandbox sb;

    auto parsed = parse_operator_script(text, "fuzz.txt", sb);
    if (parsed)
        check_script(parsed.value(), sb);

    detect::BehaviorResult b;
    botscope::analysis::Timestamp ts = 1'000'000'000;
    std::size_t pos = 0;
    while (pos < text.size() && b.commands.size() < 200) {
        std::size_t end = text.find('\n', pos);
        if (end == std::string_view::npos)
            end = text.size();
        detect::BotCommand c;
        std::string_view line = text.substr(pos, end - pos);
        ts += static_cast<botscope::analysis::Timestamp>(line.size()) * 1'000'000'000;
        c.ts = ts;
        c.via = "irc";
        c.where = line.size() % 5 == 0 ? "private" : line.size() % 7 == 0 ? "topic" : "channel";
        c.flow = 1;
        c.from = "op!o@192.0.2.1";
        c.text = std::string(line);
        b.commands.push_back(std::move(c));
        pos = end + 1;
    }
    if (b.commands.empty())
        return 0;
    auto out = script_from_capture(b, {"fuzz.pcap", "00", std::nullopt}, sb);
    if (!out) {
        if (out.error().code != "operator_no_commands")
            fail("a rewritten script does not load", out.error().message);
        return 0;
    }
    check_script(out->script, sb);
    return 0;
}
