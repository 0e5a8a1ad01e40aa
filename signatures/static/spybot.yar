// SpyBot (2003-2005): an IRC bot that spread by copying itself into the KaZaA shared folder
// under enticing names (cracks, key generators, adult content), over open shares and through
// the backdoors of other trojans, and whose command set centred on spying: a keylogger,
// stored passwords, process lists. Vendors list those commands and the KaZaA registry value it
// adds (a "dir0" share of its own folder, whose data starts "012345:").

rule botscope_spybot : bot irc worm
{
    meta:
        description = "SpyBot: its keylogger and process commands with its KaZaA shared-folder spreading"
        family = "SpyBot"
        reference = "Symantec W32.Spybot.Worm; Sophos W32/Spybot family; Trend Micro WORM_SPYBOT; F-Secure SpyBot"
        severity = 7

    strings:
        $cmd1 = "startkeylogger" ascii
        $cmd2 = "stopkeylogger" ascii
        $cmd3 = "listprocesses" ascii
        $cmd4 = "killprocess" ascii
        $cmd5 = "keyboardlights" ascii
        $cmd6 = "loadclones" ascii
        $cmd7 = "killclones" ascii
        $cmd8 = "rawclones" ascii
        $kazaa1 = "Software\\Kazaa\\LocalContent" ascii nocase
        $kazaa2 = "012345:" ascii
        $kazaa3 = "My Shared Folder" ascii nocase

    condition:
        uint16(0) == 0x5A4D and filesize < 4MB and 3 of ($cmd*) and 2 of ($kazaa*)
}
