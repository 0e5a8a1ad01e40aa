// Mytob (2005): MyDoom's mass-mailing engine welded to an SDBot-style IRC bot. Early variants
// mailed MyDoom's bounce look-alikes ("Mail transaction failed"); from mid-2005 the mails posed
// as the recipient's own mail administrator: accounts suspended, passwords updated, "*DETECTED*
// Online User Violation". The bot part runs as "WINDOWS SYSTEM" from the Run keys and turns
// the Windows firewall (SharedAccess) off. Tagged massmailer: the verdict counts a match so.

rule botscope_mytob : massmailer bot irc
{
    meta:
        description = "Mytob: its account-suspension mail texts, or MyDoom's bounce texts with its bot's run value and mutex"
        family = "Mytob"
        reference = "Sophos W32/Mytob-DH; F-Secure Mytob.A, Mytob.BD, Mytob.EM; Symantec W32.Mytob@mm and W32.Mytob.EH@mm"
        severity = 8

    strings:
        $subj1 = "*DETECTED* Online User Violation" ascii
        $subj2 = "Your Account is Suspended For Security Reasons" ascii nocase
        $subj3 = "EMAIL ACCOUNT SUSPENSION" ascii nocase
        $subj4 = "YOUR PASSWORD HAS BEEN SUCCESFULLY UPDATED" ascii nocase
        $subj5 = "Your services near to be closed" ascii nocase
        $body1 = "We have temporarily suspended your email account" ascii nocase
        $body2 = "your account will be suspended within 24 hours for security reasons" ascii nocase
        $body3 = "you will have to confirm your email by the following link" ascii nocase
        $mail1 = "Mail transaction failed. Partial message is available." ascii
        $mail2 = "The message contains Unicode characters and has been sent as a binary attachment." ascii
        $mail3 = "The message cannot be represented in 7-bit ASCII encoding and has been sent as a binary attachment." ascii
        $bot1 = "WINDOWS SYSTEM" ascii fullword
        $bot2 = "H-B-O-T" ascii
        $bot3 = "CurrentControlSet\\Services\\SharedAccess" ascii nocase

    condition:
        uint16(0) == 0x5A4D and filesize < 4MB and
        (3 of ($subj*, $body*) or (2 of ($mail*) and 2 of ($bot*)))
}
