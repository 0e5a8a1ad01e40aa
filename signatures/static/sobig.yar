// Sobig.F (August 2003): the mass mailer whose mails said "Please see the attached file for
// details" under a handful of subjects, with a .pif or .scr attachment. Its strings are in the
// unpacked body (the file on the wire was packed).

rule botscope_sobig_f : massmailer
{
    meta:
        description = "Sobig.F mass mailer: its subjects, body texts and attachment names"
        family = "Sobig"
        reference = "CERT Incident Note IN-2003-03; Symantec W32.Sobig.F@mm"
        severity = 7

    strings:
        $body1 = "Please see the attached file for details." ascii
        $body2 = "See the attached file for details" ascii
        $subj1 = "Re: Wicked screensaver" ascii
        $subj2 = "Re: That movie" ascii
        $subj3 = "Re: Your application" ascii
        $subj4 = "Re: Approved" ascii
        $att1 = "your_document.pif" ascii
        $att2 = "document_all.pif" ascii
        $att3 = "thank_you.pif" ascii
        $att4 = "movie0045.pif" ascii
        $att5 = "wicked_scr.scr" ascii
        $att6 = "application.pif" ascii

    condition:
        1 of ($body*) and 2 of ($subj*) and 3 of ($att*)
}
