// HTTP-controlled bots (2005 onwards, Bobax among the first) report in by asking a script on
// their controller's web server for orders, naming themselves in the query or the form: a bot
// id and a version, build or operating system. Ordinary browsing rarely names a script "gate"
// or hands a server a Windows version beside an id. Matched against each direction of a
// reassembled TCP stream, so a request is seen as it was sent.

rule botscope_http_gate_checkin : http cnc
{
    meta:
        description = "An HTTP bot's check-in: a gate-like script (gate, bot, cnc, knock) asked with a bot id and a version, build or OS"
        family = "generic"
        reference = "Public analyses of HTTP bots' gate scripts (e.g. gate.php check-ins); LURHQ/SecureWorks Bobax analyses (2004-2005)"
        severity = 6

    strings:
        $get_id_first = /GET \/([^ ?\/\r\n]{1,64}\/){0,6}(gate|bot|bots|botnet|cnc|knock)\.(php|asp|aspx|cgi|pl|jsp)\?([^ \r\n]{0,256}&)?(id|bid|botid|uid|guid|hwid)=[^ &\r\n]{1,128}&([^ \r\n]{0,256}&)?(v|ver|version|build|os|osver|winver)=[^ &\r\n]{1,64}[^ \r\n]{0,256} HTTP\/1\.[01]\r\n/ nocase
        $get_ver_first = /GET \/([^ ?\/\r\n]{1,64}\/){0,6}(gate|bot|bots|botnet|cnc|knock)\.(php|asp|aspx|cgi|pl|jsp)\?([^ \r\n]{0,256}&)?(v|ver|version|build|os|osver|winver)=[^ &\r\n]{1,64}&([^ \r\n]{0,256}&)?(id|bid|botid|uid|guid|hwid)=[^ &\r\n]{1,128}[^ \r\n]{0,256} HTTP\/1\.[01]\r\n/ nocase
        $post = /POST \/([^ ?\/\r\n]{1,64}\/){0,6}(gate|bot|bots|botnet|cnc|knock)\.(php|asp|aspx|cgi|pl|jsp) HTTP\/1\.[01]\r\n([^\r\n]{1,512}\r\n){0,32}\r\n(id|bid|botid|uid|guid|hwid)=[^ &\r\n]{1,128}&([^ \r\n]{0,256}&)?(v|ver|version|build|os|osver|winver)=/ nocase

    condition:
        any of them
}

rule botscope_http_bot_report : http cnc
{
    meta:
        description = "An HTTP bot's report: any script asked with a bot id and the Windows version it runs on"
        family = "generic"
        reference = "Public analyses of HTTP bots' check-ins, which pass id and os parameters to the controller"
        severity = 5

    strings:
        $id_first = /GET \/[^ ?\r\n]{1,256}\?([^ \r\n]{0,256}&)?(id|bid|botid|uid|guid|hwid)=[^ &\r\n]{4,128}&([^ \r\n]{0,256}&)?(os|osver|winver|win)=(win(dows)?[ _+%20-]*)?(95|98|me|nt|2k|2000|xp|2003|2k3|vista|5\.[012]|6\.[01])[^ &\r\n]{0,32}[^ \r\n]{0,256} HTTP\/1\.[01]\r\n/ nocase
        $os_first = /GET \/[^ ?\r\n]{1,256}\?([^ \r\n]{0,256}&)?(os|osver|winver|win)=(win(dows)?[ _+%20-]*)?(95|98|me|nt|2k|2000|xp|2003|2k3|vista|5\.[012]|6\.[01])[^ &\r\n]{0,32}&([^ \r\n]{0,256}&)?(id|bid|botid|uid|guid|hwid)=[^ &\r\n]{4,128}[^ \r\n]{0,256} HTTP\/1\.[01]\r\n/ nocase

    condition:
        any of them
}
