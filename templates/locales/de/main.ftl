# Deutsch (Sie-Form). Jede Nachricht aus locales/en/main.ftl muss hier stehen.
# Plural: [one] für 1, *[other] für alles andere.

## Die E-Mail mit dem Code

mail-subject = Ihr Anmeldecode für { $app }
mail-subject-resent = Ihr neuer Anmeldecode für { $app }
mail-heading = Ihr Anmeldecode
mail-greeting = Guten Tag,
mail-greeting-name = Guten Tag, { $name },
mail-intro = Mit diesem Code melden Sie sich bei { $app } an:
mail-intro-resent = Hier ist Ihr neuer Code für die Anmeldung bei { $app }. Zuvor gesendete Codes sind nicht mehr gültig.
mail-expiry =
    { $minutes ->
        [one] Der Code ist { $minutes } Minute lang gültig, bis { $time }.
       *[other] Der Code ist { $minutes } Minuten lang gültig, bis { $time }.
    }
mail-once = Der Code funktioniert nur ein einziges Mal. Geben Sie ihn niemals weiter: Wir werden Sie nie per Telefon, Chat oder E-Mail danach fragen.
mail-not-you-title = Sie wollten sich gar nicht anmelden?
mail-not-you = Dann können Sie diese E-Mail bedenkenlos ignorieren: Ohne den Code kann sich niemand anmelden. Möglicherweise hat jemand Ihre Adresse versehentlich eingegeben. Falls Sie wiederholt Codes erhalten, die Sie nicht angefordert haben, ändern Sie bitte Ihr Passwort.
mail-footer = Diese E-Mail wurde an { $email } gesendet, weil mit dieser Adresse eine Anmeldung bei { $app } begonnen wurde.

## Seitenrahmen

page-title = { $title } – { $product }

## Code-Eingabe

code-title = Code eingeben
code-heading = Prüfen Sie Ihre E-Mails
code-app = für die Anmeldung bei { $app }
code-sent = Wir haben einen { $length }-stelligen Code an { $email } gesendet.
code-sending = Wir senden einen Code an { $email }. Diese Seite aktualisiert sich, sobald die E-Mail verschickt ist.
code-send-failed = Die E-Mail mit Ihrem Code an { $email } konnte nicht gesendet werden. Fordern Sie einen neuen Code an: Er wird Ihnen nicht angerechnet.
notice-resent = Wir haben einen neuen Code an { $email } gesendet. Zuvor gesendete Codes sind nicht mehr gültig.
notice-send-limited = An diese Adresse wurden zu viele Codes gesendet. Bitte warten Sie einige Minuten, bevor Sie einen neuen anfordern.
notice-invalid =
    { $attempts ->
        [0] Dieser Code ist nicht richtig. Sie haben keinen Versuch mehr.
        [one] Dieser Code ist nicht richtig. Sie haben noch { $attempts } Versuch.
       *[other] Dieser Code ist nicht richtig. Sie haben noch { $attempts } Versuche.
    }
notice-cooldown =
    { $seconds ->
        [one] Bitte warten Sie noch { $seconds } Sekunde, bevor Sie einen neuen Code anfordern.
       *[other] Bitte warten Sie noch { $seconds } Sekunden, bevor Sie einen neuen Code anfordern.
    }
code-label = Anmeldecode
code-hint =
    { $length ->
        [one] Geben Sie die Ziffer aus der E-Mail ein.
       *[other] Geben Sie die { $length } Ziffern aus der E-Mail ein.
    }
code-submit = Weiter
code-expires-in =
    { $minutes ->
        [one] Der Code läuft in { $minutes } Minute ab.
       *[other] Der Code läuft in { $minutes } Minuten ab.
    }
code-expires-soon = Der Code läuft in weniger als einer Minute ab.
code-expired-heading = Ihr Code ist abgelaufen
code-expired-text = Zu Ihrer Sicherheit ist jeder Code nur wenige Minuten gültig. Fordern Sie einen neuen Code an, um fortzufahren.
resend-button = Neuen Code senden
resend-wait =
    { $seconds ->
        [one] Einen neuen Code können Sie in { $seconds } Sekunde anfordern.
       *[other] Einen neuen Code können Sie in { $seconds } Sekunden anfordern.
    }
resend-none = Für diese Anmeldung können keine weiteren Codes gesendet werden.
cancel-button = Anmeldung abbrechen

## Weiterleitung

redirect-title = Anmeldung wird fortgesetzt
redirect-heading = Anmeldung wird fortgesetzt …
redirect-text = Sie werden zu { $app } zurückgeleitet.
redirect-text-generic = Sie werden zum nächsten Schritt weitergeleitet.
redirect-noscript = JavaScript ist in Ihrem Browser ausgeschaltet. Wählen Sie „Weiter“, um fortzufahren.
redirect-button = Weiter

## Fehlerseite, nach Grund

error-title =
    { $reason ->
        [invalid_request] Diese Anmeldeanfrage ist ungültig
        [send_limited] Zu viele Codes gesendet
        [no_challenge] Keine laufende Anmeldung
        [expired] Der Code ist abgelaufen
        [locked] Zu viele falsche Codes
        [not_found] Seite nicht gefunden
       *[other] Etwas ist schiefgegangen
    }
error-text =
    { $reason ->
        [invalid_request] Die Anmeldeanfrage war unvollständig, abgelaufen oder wurde bereits verwendet.
        [send_limited] An diese Adresse wurden zu viele Codes gesendet. Bitte warten Sie einige Minuten und melden Sie sich dann erneut an.
        [no_challenge] Diese Anmeldung ist abgeschlossen oder abgelaufen, oder Ihr Browser hat das zugehörige Cookie nicht behalten.
        [expired] Zu Ihrer Sicherheit ist jeder Code nur wenige Minuten gültig.
        [locked] Zu Ihrer Sicherheit wurde dieser Code nach zu vielen Fehlversuchen gesperrt.
        [not_found] Diese Adresse gehört nicht zur Anmeldung oder kann nicht direkt aufgerufen werden.
       *[other] Ein unerwarteter Fehler hat die Anmeldung unterbrochen. Bitte versuchen Sie es in einigen Minuten erneut.
    }
error-back = Kehren Sie zur Anwendung zurück und melden Sie sich erneut an.
error-back-app = Kehren Sie zu { $app } zurück und melden Sie sich erneut an.
error-restart = Anmeldung neu starten


## Finished page (what Back shows after the step)

finished-title = Anmeldeschritt abgeschlossen
finished-heading =
    { $result ->
        [success] Ihr Code wurde angenommen
       *[other] Dieser Anmeldeschritt ist beendet
    }
finished-text =
    { $result ->
        [success] Sie sind bei { $app } angemeldet, sobald die Anwendung sich öffnet.
       *[other] Kehren Sie zu { $app } zurück, um sich erneut anzumelden.
    }
finished-text-generic =
    { $result ->
        [success] Sie sind angemeldet, sobald die Anwendung sich öffnet.
       *[other] Kehren Sie zur Anwendung zurück, um sich erneut anzumelden.
    }
finished-link = Weiter zu { $app }
finished-link-generic = Weiter zur Anwendung
finished-close = Sie können diese Seite schließen.

## Datum und Uhrzeit (alle Zeiten in UTC)

month-name =
    { $month ->
        [1] Januar
        [2] Februar
        [3] März
        [4] April
        [5] Mai
        [6] Juni
        [7] Juli
        [8] August
        [9] September
        [10] Oktober
        [11] November
       *[12] Dezember
    }
datetime-full = { $day }. { $month } { $year }, { $hour2 }:{ $minute } Uhr (UTC)
datetime-date = { $day }. { $month } { $year }
datetime-time = { $hour2 }:{ $minute } Uhr (UTC)
