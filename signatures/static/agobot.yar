// Agobot, Phatbot and Gaobot (2003-2005): a C++ bot whose commands are dotted module.verb
// names (bot.*, ddos.*, harvest.*, scan.*, cvar.*, pctrl.*), as the public analyses of the
// family list them. The commands sit in the binary as plain strings once it is unpacked, as
// the dropped or dumped copies a sandbox keeps are.

rule botscope_agobot_phatbot : bot irc
{
    meta:
        description = "Agobot/Phatbot/Gaobot: its dotted command set (bot, ddos, harvest, scan, cvar, pctrl)"
        family = "Agobot"
        reference = "LURHQ, Phatbot Trojan Analysis (2004); Symantec W32.HLLW.Gaobot"
        severity = 8

    strings:
        $bot1 = "bot.about" ascii wide
        $bot2 = "bot.execute" ascii wide
        $bot3 = "bot.remove" ascii wide
        $bot4 = "bot.sysinfo" ascii wide
        $ddos1 = "ddos.synflood" ascii wide
        $ddos2 = "ddos.udpflood" ascii wide
        $ddos3 = "ddos.httpflood" ascii wide
        $harvest1 = "harvest.cdkeys" ascii wide
        $harvest2 = "harvest.emails" ascii wide
        $scan1 = "scan.addnetrange" ascii wide
        $scan2 = "scan.startall" ascii wide
        $cvar = "cvar.set" ascii wide
        $pctrl = "pctrl.kill" ascii wide

    condition:
        2 of ($bot*) and 1 of ($ddos*) and 1 of ($harvest*, $scan*, $cvar, $pctrl)
}
