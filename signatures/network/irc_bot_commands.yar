// Bot commands as a botmaster sends them over IRC and the bot's replies, in the dialects of
// the era's families: SDBot/RBot/rxBot (a dot, a module, arguments) and Agobot (dotted module
// names). Matched against reassembled TCP streams.

rule botscope_irc_rbot_commands : irc cnc
{
    meta:
        description = "IRC lines ordering an RBot-style scan, flood or download"
        family = "RBot"
        severity = 8

    strings:
        $scan = /(PRIVMSG|TOPIC|NOTICE) [#&]?[^ \r\n]{1,64} :[^\r\n]{0,64}\.advscan [a-z0-9_]{2,32} [0-9]{1,4}/ nocase
        $syn = /(PRIVMSG|TOPIC|NOTICE) [#&]?[^ \r\n]{1,64} :[^\r\n]{0,64}\.ddos\.(syn|udp|ack|random) [0-9]{1,3}(\.[0-9]{1,3}){3} [0-9]{1,5} [0-9]{1,6}/ nocase
        $download = /(PRIVMSG|TOPIC|NOTICE) [#&]?[^ \r\n]{1,64} :[^\r\n]{0,64}\.(download|update|dl) (http|ftp|tftp):\/\/[^ \r\n]{1,256}/ nocase

    condition:
        any of them
}

rule botscope_irc_rbot_replies : irc bot
{
    meta:
        description = "A bot's bracketed replies to its botmaster over IRC"
        family = "RBot"
        severity = 7

    strings:
        $reply = /PRIVMSG [#&]?[^ \r\n]{1,64} :\[(SCAN|DDoS|DOWNLOAD|MAIN|SYN|UDP|TFTP|SYSINFO)\]: / nocase

    condition:
        $reply
}

rule botscope_irc_agobot_commands : irc cnc
{
    meta:
        description = "IRC lines ordering an Agobot-style flood, scan or harvest"
        family = "Agobot"
        severity = 8

    strings:
        $cmd = /(PRIVMSG|TOPIC|NOTICE) [#&]?[^ \r\n]{1,64} :[^\r\n]{0,64}\.(ddos\.(synflood|udpflood|httpflood)|scan\.(addnetrange|startall|enable)|harvest\.(cdkeys|emails)|bot\.(execute|open|remove)) / nocase

    condition:
        $cmd
}

rule botscope_irc_sdbot_commands : irc cnc
{
    meta:
        description = "IRC lines ordering an SDBot-style UDP or ping flood (target, count, size, delay) or a download"
        family = "SDBot"
        severity = 8

    strings:
        $flood = /(PRIVMSG|TOPIC|NOTICE) [#&]?[^ \r\n]{1,64} :[^\r\n]{0,64}[.!](udp|ping) [0-9]{1,3}(\.[0-9]{1,3}){3} [0-9]{1,9} [0-9]{1,6} [0-9]{1,6}/ nocase
        $download = /(PRIVMSG|TOPIC|NOTICE) [#&]?[^ \r\n]{1,64} :[^\r\n]{0,64}!(download|update) (http|ftp):\/\/[^ \r\n]{1,256}/ nocase

    condition:
        any of them
}

rule botscope_irc_sdbot_replies : irc bot
{
    meta:
        description = "An SDBot-style bot reporting a UDP or ping flood to its botmaster over IRC"
        family = "SDBot"
        severity = 7

    strings:
        $reply = /PRIVMSG [#&]?[^ \r\n]{1,64} :sending [0-9]{1,9} (udp packets|pings) to:? [0-9]{1,3}(\.[0-9]{1,3}){3}\. packet size: [0-9]{1,6}/ nocase

    condition:
        $reply
}

rule botscope_irc_spybot_commands : irc cnc
{
    meta:
        description = "IRC lines ordering SpyBot's keylogger, process list, process kill or clones"
        family = "SpyBot"
        severity = 8

    strings:
        $cmd = /(PRIVMSG|TOPIC|NOTICE) [#&]?[^ \r\n]{1,64} :[.!]?(startkeylogger|stopkeylogger|listprocesses|keyboardlights|killprocess [^ \r\n]{1,64}\.exe|(load|kill|raw)clones( [^\r\n]{1,128})?)\r?\n/ nocase

    condition:
        $cmd
}
