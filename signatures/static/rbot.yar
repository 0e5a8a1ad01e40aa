// RBot and rxBot (2004-2005): SDBot's descendants, whose published sources made hundreds of
// variants. Their replies to the botmaster carry bracketed module tags ("[SCAN]: ..."), and
// their command names (advscan, ddos.syn...) are compared as plain strings. The tags are
// matched without the colon, which some variants write apart from the tag.

rule botscope_rbot_rxbot : bot irc
{
    meta:
        description = "RBot/rxBot: bracketed reply tags and its scanner and flood commands"
        family = "RBot"
        reference = "Symantec W32.Spybot/W32.Randex/W32.Rbot write-ups; the rxBot sources as analysed publicly"
        severity = 8

    strings:
        $tag1 = "[SCAN]" ascii wide
        $tag2 = "[DDoS]" ascii wide
        $tag3 = "[DOWNLOAD]" ascii wide
        $tag4 = "[MAIN]" ascii wide
        $tag5 = "[SYSINFO]" ascii wide
        $tag6 = "[SYN]" ascii wide
        $cmd1 = "advscan" ascii wide
        $cmd2 = "ddos.syn" ascii wide
        $cmd3 = "scanstats" ascii wide
        $cmd4 = "ddos.ack" ascii wide
        $exploit1 = "lsass_445" ascii wide
        $exploit2 = "dcom135" ascii wide

    condition:
        3 of ($tag*) and 2 of ($cmd*, $exploit*)
}
