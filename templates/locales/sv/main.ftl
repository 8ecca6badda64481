# Svenska (du-tilltal). Varje meddelande i locales/en/main.ftl måste finnas här.
# Plural: [one] för 1, *[other] för allt annat.

## E-postmeddelandet med koden

mail-subject = Din inloggningskod för { $app }
mail-subject-resent = Din nya inloggningskod för { $app }
mail-heading = Din inloggningskod
mail-greeting = Hej,
mail-greeting-name = Hej { $name },
mail-intro = Använd den här koden för att logga in på { $app }:
mail-intro-resent = Här är din nya kod för att logga in på { $app }. Koder som skickats tidigare fungerar inte längre.
mail-expiry =
    { $minutes ->
        [one] Koden går ut om { $minutes } minut, kl. { $time }.
       *[other] Koden går ut om { $minutes } minuter, kl. { $time }.
    }
mail-once = Koden fungerar bara en gång. Dela den aldrig med någon: vi ber aldrig om den via telefon, chatt eller e-post.
mail-not-you-title = Försökte du inte logga in?
mail-not-you = Då kan du lugnt ignorera det här meddelandet: ingen kan logga in utan koden. Någon kan ha skrivit in din adress av misstag. Om du fortsätter att få koder som du inte har bett om, byt ditt lösenord.
mail-footer = Det här meddelandet skickades till { $email } eftersom någon började logga in på { $app } med den här adressen.

## Sidans ram

page-title = { $title } – { $product }

## Sidan för koden

code-title = Ange din kod
code-heading = Titta i din e-post
code-app = för att logga in på { $app }
code-sent = Vi har skickat en kod med { $length } siffror till { $email }.
code-sending = Vi skickar en kod till { $email }. Sidan uppdateras när meddelandet har skickats.
code-send-failed = Vi kunde inte skicka e-postmeddelandet med din kod till { $email }. Be om en ny kod: den räknas inte mot dig.
notice-resent = Vi har skickat en ny kod till { $email }. Koder som skickats tidigare fungerar inte längre.
notice-send-limited = För många koder har skickats till den här adressen. Vänta några minuter innan du ber om en ny.
notice-invalid =
    { $attempts ->
        [0] Koden stämmer inte. Du har inga försök kvar.
        [one] Koden stämmer inte. Du har { $attempts } försök kvar.
       *[other] Koden stämmer inte. Du har { $attempts } försök kvar.
    }
notice-cooldown =
    { $seconds ->
        [one] Vänta { $seconds } sekund innan du ber om en ny kod.
       *[other] Vänta { $seconds } sekunder innan du ber om en ny kod.
    }
code-label = Inloggningskod
code-hint =
    { $length ->
        [one] Ange siffran från e-postmeddelandet.
       *[other] Ange de { $length } siffrorna från e-postmeddelandet.
    }
code-submit = Fortsätt
code-expires-in =
    { $minutes ->
        [one] Koden går ut om { $minutes } minut.
       *[other] Koden går ut om { $minutes } minuter.
    }
code-expires-soon = Koden går ut om mindre än en minut.
code-expired-heading = Din kod har gått ut
code-expired-text = För din säkerhet fungerar varje kod bara i några minuter. Be om en ny kod för att fortsätta.
resend-button = Skicka en ny kod
resend-wait =
    { $seconds ->
        [one] Du kan be om en ny kod om { $seconds } sekund.
       *[other] Du kan be om en ny kod om { $seconds } sekunder.
    }
resend-none = Inga fler koder kan skickas för den här inloggningen.
cancel-button = Avbryt inloggningen

## Vidarebefordringssidan

redirect-title = Inloggningen fortsätter
redirect-heading = Inloggningen fortsätter …
redirect-text = Du skickas tillbaka till { $app }.
redirect-text-generic = Du skickas vidare till nästa steg.
redirect-noscript = JavaScript är avstängt i din webbläsare. Välj ”Fortsätt” för att gå vidare.
redirect-button = Fortsätt

## Felsidan, efter orsak

error-title =
    { $reason ->
        [invalid_request] Inloggningsbegäran är inte giltig
        [send_limited] För många koder skickade
        [no_challenge] Ingen inloggning pågår
        [expired] Koden har gått ut
        [locked] För många felaktiga koder
        [not_found] Sidan hittades inte
       *[other] Något gick fel
    }
error-text =
    { $reason ->
        [invalid_request] Inloggningsbegäran var ofullständig, hade gått ut eller var redan använd.
        [send_limited] För många koder har skickats till den här adressen. Vänta några minuter och logga sedan in igen.
        [no_challenge] Den här inloggningen är avslutad eller har gått ut, eller så sparade din webbläsare inte sin cookie.
        [expired] För din säkerhet fungerar varje kod bara i några minuter.
        [locked] För din säkerhet har koden spärrats efter för många felaktiga försök.
        [not_found] Den här adressen hör inte till inloggningen, eller kan inte öppnas direkt.
       *[other] Ett oväntat fel avbröt inloggningen. Försök igen om några minuter.
    }
error-back = Gå tillbaka till appen och logga in igen.
error-back-app = Gå tillbaka till { $app } och logga in igen.
error-restart = Börja om inloggningen


## Finished page (what Back shows after the step)

finished-title = Inloggningssteget är klart
finished-heading =
    { $result ->
        [success] Din kod godkändes
       *[other] Det här inloggningssteget är avslutat
    }
finished-text =
    { $result ->
        [success] Du är inloggad på { $app } så snart den öppnas.
       *[other] Gå tillbaka till { $app } för att logga in igen.
    }
finished-text-generic =
    { $result ->
        [success] Du är inloggad så snart appen öppnas.
       *[other] Gå tillbaka till appen för att logga in igen.
    }
finished-link = Gå till { $app }
finished-link-generic = Gå till appen
finished-close = Du kan stänga den här sidan.

## Datum och tid (alla tider i UTC)

month-name =
    { $month ->
        [1] januari
        [2] februari
        [3] mars
        [4] april
        [5] maj
        [6] juni
        [7] juli
        [8] augusti
        [9] september
        [10] oktober
        [11] november
       *[12] december
    }
datetime-full = { $day } { $month } { $year } kl. { $hour2 }:{ $minute } (UTC)
datetime-date = { $day } { $month } { $year }
datetime-time = { $hour2 }:{ $minute } (UTC)
