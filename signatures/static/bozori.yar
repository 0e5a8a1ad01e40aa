// Bozori (August 2005; Symantec's Zotob.E and Zotob.F, Sophos's Tpbot): the MS05-039 worms of
// the "bot war", which installed as wintbp.exe (Bozori.B: wintbpx.exe) and ended the processes
// of the rival bots it found: Zotob's botzor.exe and csm.exe, SpyBot's svnlitup32.exe and
// winpnp.exe, Esbot's mousebm.exe and others. The kill list beside its own file name is its
// mark; the exploited host fetched the worm by a TFTP script.

rule botscope_bozori : worm bot
{
    meta:
        description = "Bozori: its wintbp file name beside its list of rival bots' processes to end"
        family = "Bozori"
        reference = "Symantec W32.Zotob.E and W32.Zotob.F (Bozori.B); Fortinet W32/Zotob.E!worm (Net-Worm.Win32.Bozori.a); Kaspersky Zotob/Bozori statement (17 Aug 2005); F-Secure Bozori.A/B"
        severity = 8

    strings:
        $self1 = "wintbp.exe" ascii wide nocase
        $self2 = "wintbpx.exe" ascii wide nocase
        $kill1 = "botzor.exe" ascii wide nocase
        $kill2 = "svnlitup32.exe" ascii wide nocase
        $kill3 = "mousebm.exe" ascii wide nocase
        $kill4 = "pnpsrv.exe" ascii wide nocase
        $kill5 = "winpnp.exe" ascii wide nocase
        $kill6 = "llsrv.exe" ascii wide nocase
        $kill7 = "csm.exe" ascii wide nocase fullword
        $kill8 = "service32.exe" ascii wide nocase

    condition:
        uint16(0) == 0x5A4D and filesize < 4MB and 1 of ($self*) and 4 of ($kill*)
}
