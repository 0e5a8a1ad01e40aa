// Zotob (August 2005): a Mytob clone ("HellBot") that spread through the Plug and Play service
// hole of MS05-039 over TCP 445, making the exploited host fetch the worm as haha.exe by FTP
// from the attacker. Zotob.A copied itself as botzor.exe, held the mutex "B-O-T-Z-O-R" and
// carried a text naming itself Botzor2005 and threatening the first anti-virus vendor to
// detect it. The PnP RPC interface it calls over \pipe\browser is matched as its UUID.

rule botscope_zotob : worm bot irc
{
    meta:
        description = "Zotob: its botzor names and mutex with its MS05-039 spreading (PnP interface, browser pipe, haha.exe by FTP)"
        family = "Zotob"
        reference = "F-Secure Worm:W32/Zotob.A; Symantec W32.Zotob.A; McAfee W32/Zotob.worm; Microsoft Win32/Zotob; Microsoft Security Bulletin MS05-039"
        severity = 8

    strings:
        $id1 = "botzor.exe" ascii wide nocase
        $id2 = "B-O-T-Z-O-R" ascii wide
        $id3 = "Botzor2005" ascii nocase
        $id4 = "first AV who detect this worm" ascii nocase
        // 8d9f4e40-a03d-11ce-8f69-08003e30051b, the PnP RPC interface, as it sits in a bind
        $pnp = { 40 4E 9F 8D 3D A0 CE 11 8F 69 08 00 3E 30 05 1B }
        $pipe = "\\pipe\\browser" ascii wide nocase
        $fetch1 = "haha.exe" ascii nocase
        $fetch2 = "ftp -n -s:" ascii nocase

    condition:
        uint16(0) == 0x5A4D and filesize < 4MB and 2 of ($id*) and 2 of ($pnp, $pipe, $fetch*)
}
