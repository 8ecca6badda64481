# Nederlands (je-vorm). Elke melding uit locales/en/main.ftl moet hier staan.
# Meervoud: [one] voor 1, *[other] voor de rest.

## De e-mail met de code

mail-subject = Je inlogcode voor { $app }
mail-subject-resent = Je nieuwe inlogcode voor { $app }
mail-heading = Je inlogcode
mail-greeting = Hallo,
mail-greeting-name = Hallo { $name },
mail-intro = Gebruik deze code om in te loggen bij { $app }:
mail-intro-resent = Hier is je nieuwe code om in te loggen bij { $app }. Eerder verstuurde codes werken niet meer.
mail-expiry =
    { $minutes ->
        [one] De code verloopt over { $minutes } minuut, om { $time }.
       *[other] De code verloopt over { $minutes } minuten, om { $time }.
    }
mail-once = De code werkt maar één keer. Deel hem nooit met iemand: we vragen er nooit naar via telefoon, chat of e-mail.
mail-not-you-title = Probeerde je niet in te loggen?
mail-not-you = Dan kun je deze e-mail gerust negeren: zonder de code kan niemand inloggen. Misschien heeft iemand per ongeluk jouw adres ingetypt. Krijg je steeds codes waar je niet om hebt gevraagd? Wijzig dan je wachtwoord.
mail-footer = Deze e-mail is verstuurd naar { $email } omdat iemand met dit adres is begonnen met inloggen bij { $app }.

## Paginakader

page-title = { $title } – { $product }

## Pagina voor de code

code-title = Voer je code in
code-heading = Kijk in je e-mail
code-app = om in te loggen bij { $app }
code-sent = We hebben een code van { $length } cijfers gestuurd naar { $email }.
code-sending = We sturen een code naar { $email }. Deze pagina werkt zichzelf bij zodra de e-mail is verstuurd.
code-send-failed = We konden de e-mail met je code niet versturen naar { $email }. Vraag een nieuwe code aan: die telt niet tegen je.
notice-resent = We hebben een nieuwe code gestuurd naar { $email }. Eerder verstuurde codes werken niet meer.
notice-send-limited = Er zijn te veel codes naar dit adres gestuurd. Wacht een paar minuten voordat je een nieuwe aanvraagt.
notice-invalid =
    { $attempts ->
        [0] Die code klopt niet. Je hebt geen pogingen meer over.
        [one] Die code klopt niet. Je hebt nog { $attempts } poging over.
       *[other] Die code klopt niet. Je hebt nog { $attempts } pogingen over.
    }
notice-cooldown =
    { $seconds ->
        [one] Wacht { $seconds } seconde voordat je een nieuwe code aanvraagt.
       *[other] Wacht { $seconds } seconden voordat je een nieuwe code aanvraagt.
    }
code-label = Inlogcode
code-hint =
    { $length ->
        [one] Voer het { $length } cijfer uit de e-mail in.
       *[other] Voer de { $length } cijfers uit de e-mail in.
    }
code-submit = Doorgaan
code-expires-in =
    { $minutes ->
        [one] De code verloopt over { $minutes } minuut.
       *[other] De code verloopt over { $minutes } minuten.
    }
code-expires-soon = De code verloopt binnen een minuut.
code-expired-heading = Je code is verlopen
code-expired-text = Voor je veiligheid werkt elke code maar een paar minuten. Vraag een nieuwe code aan om verder te gaan.
resend-button = Stuur een nieuwe code
resend-wait =
    { $seconds ->
        [one] Je kunt over { $seconds } seconde een nieuwe code aanvragen.
       *[other] Je kunt over { $seconds } seconden een nieuwe code aanvragen.
    }
resend-none = Voor deze inlogpoging kunnen geen nieuwe codes meer worden verstuurd.
cancel-button = Inloggen annuleren

## Doorstuurpagina

redirect-title = Inloggen gaat verder
redirect-heading = Inloggen gaat verder…
redirect-text = Je wordt teruggestuurd naar { $app }.
redirect-text-generic = Je gaat door naar de volgende stap.
redirect-noscript = JavaScript staat uit in je browser. Kies ‘Doorgaan’ om verder te gaan.
redirect-button = Doorgaan

## Foutpagina, per oorzaak

error-title =
    { $reason ->
        [invalid_request] Dit inlogverzoek is niet geldig
        [send_limited] Te veel codes verstuurd
        [no_challenge] Er loopt geen inlogpoging
        [expired] De code is verlopen
        [locked] Te veel foute codes
        [not_found] Pagina niet gevonden
       *[other] Er is iets misgegaan
    }
error-text =
    { $reason ->
        [invalid_request] Het inlogverzoek was onvolledig, verlopen of al gebruikt.
        [send_limited] Er zijn te veel codes naar dit adres gestuurd. Wacht een paar minuten en log dan opnieuw in.
        [no_challenge] Deze inlogpoging is afgerond of verlopen, of je browser heeft de cookie niet bewaard.
        [expired] Voor je veiligheid werkt elke code maar een paar minuten.
        [locked] Voor je veiligheid is deze code geblokkeerd na te veel foute pogingen.
        [not_found] Dit adres hoort niet bij het inloggen of kan niet rechtstreeks worden geopend.
       *[other] Een onverwachte fout heeft het inloggen onderbroken. Probeer het over een paar minuten opnieuw.
    }
error-back = Ga terug naar de applicatie en log opnieuw in.
error-back-app = Ga terug naar { $app } en log opnieuw in.
error-restart = Opnieuw inloggen


## Finished page (what Back shows after the step)

finished-title = Inlogstap afgerond
finished-heading =
    { $result ->
        [success] Je code is geaccepteerd
       *[other] Deze inlogstap is afgelopen
    }
finished-text =
    { $result ->
        [success] Je bent ingelogd bij { $app } zodra die opent.
       *[other] Ga terug naar { $app } om opnieuw in te loggen.
    }
finished-text-generic =
    { $result ->
        [success] Je bent ingelogd zodra de applicatie opent.
       *[other] Ga terug naar de applicatie om opnieuw in te loggen.
    }
finished-link = Naar { $app }
finished-link-generic = Naar de applicatie
finished-close = Je kunt deze pagina sluiten.

## Datum en tijd (alle tijden in UTC)

month-name =
    { $month ->
        [1] januari
        [2] februari
        [3] maart
        [4] april
        [5] mei
        [6] juni
        [7] juli
        [8] augustus
        [9] september
        [10] oktober
        [11] november
       *[12] december
    }
datetime-full = { $day } { $month } { $year } om { $hour2 }:{ $minute } (UTC)
datetime-date = { $day } { $month } { $year }
datetime-time = { $hour2 }:{ $minute } (UTC)
