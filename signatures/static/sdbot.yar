// SDBot (2002-2005): the small IRC bot whose published source RBot, rxBot and many others grew
// from. Vendors describe it by what it reports to its channel: the sysinfo and netinfo lines
// (cpu, ram, os, uptime, connection type, local address) and its UDP and ping flood replies.
// Those format strings stay in the unpacked body of nearly every variant; its descendants
// rewrote them behind bracketed tags ("[SYSINFO]:"), which botscope_rbot_rxbot covers.

rule botscope_sdbot : bot irc
{
    meta:
        description = "SDBot: its sysinfo/netinfo report formats with its flood replies or command names"
        family = "SDBot"
        reference = "Fortinet W32/SDBot.fam!worm.irc (2003-2005); F-Secure Backdoor:W32/SdBot; Symantec Backdoor.Sdbot; Trend Micro WORM_SDBOT.AZ"
        severity = 7

    strings:
        $info1 = /cpu: ?%d ?MHz\. ram: ?%d ?KB total, ?%d ?KB free\./ ascii
        $info2 = "os: Windows %s (%d.%d, build %d)." ascii
        $info3 = "uptime: %dd %dh %dm" ascii
        $info4 = "connection type: %s (%s)." ascii
        $info5 = "local IP address: %d.%d.%d.%d." ascii
        $info6 = "connected from: %s" ascii
        $flood1 = "udp packets to: %s" ascii
        $flood2 = "pings to %s" ascii
        $cmd1 = "rndnick" ascii
        $cmd2 = "c_privmsg" ascii
        $cmd3 = "sdbot" ascii nocase

    condition:
        uint16(0) == 0x5A4D and filesize < 4MB and 3 of ($info*) and 1 of ($flood*, $cmd*)
}
