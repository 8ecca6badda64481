# Italiano (forma di cortesia "Lei"). Ogni messaggio di locales/en/main.ftl deve essere qui.
# Plurale: [one] per 1, *[other] per tutto il resto.

## L’email con il codice

mail-subject = Il Suo codice di accesso per { $app }
mail-subject-resent = Il Suo nuovo codice di accesso per { $app }
mail-heading = Il Suo codice di accesso
mail-greeting = Buongiorno,
mail-greeting-name = Buongiorno { $name },
mail-intro = Usi questo codice per accedere a { $app }:
mail-intro-resent = Ecco il Suo nuovo codice per accedere a { $app }. I codici inviati in precedenza non sono più validi.
mail-expiry =
    { $minutes ->
        [one] Il codice scade tra { $minutes } minuto, alle { $time }.
       *[other] Il codice scade tra { $minutes } minuti, alle { $time }.
    }
mail-once = Il codice funziona una sola volta. Non lo comunichi mai a nessuno: non Le chiederemo mai il codice per telefono, in chat o via email.
mail-not-you-title = Non ha provato ad accedere?
mail-not-you = Può ignorare questa email senza problemi: nessuno può accedere senza il codice. Forse qualcuno ha digitato il Suo indirizzo per errore. Se continua a ricevere codici che non ha richiesto, cambi la Sua password.
mail-footer = Questa email è stata inviata a { $email } perché qualcuno ha iniziato ad accedere a { $app } con questo indirizzo.

## Cornice della pagina

page-title = { $title } – { $product }

## Pagina di inserimento del codice

code-title = Inserisca il codice
code-heading = Controlli la Sua email
code-app = per accedere a { $app }
code-sent = Abbiamo inviato un codice di { $length } cifre a { $email }.
code-sending = Stiamo inviando un codice a { $email }. Questa pagina si aggiorna quando l’email è partita.
code-send-failed = Non siamo riusciti a inviare l’email con il codice a { $email }. Richieda un nuovo codice: non verrà conteggiato a Suo sfavore.
notice-resent = Abbiamo inviato un nuovo codice a { $email }. I codici inviati in precedenza non sono più validi.
notice-send-limited = Sono stati inviati troppi codici a questo indirizzo. Attenda qualche minuto prima di richiederne un altro.
notice-invalid =
    { $attempts ->
        [0] Il codice non è corretto. Non ha più tentativi a disposizione.
        [one] Il codice non è corretto. Le resta { $attempts } tentativo.
       *[other] Il codice non è corretto. Le restano { $attempts } tentativi.
    }
notice-cooldown =
    { $seconds ->
        [one] Attenda { $seconds } secondo prima di richiedere un nuovo codice.
       *[other] Attenda { $seconds } secondi prima di richiedere un nuovo codice.
    }
code-label = Codice di accesso
code-hint =
    { $length ->
        [one] Inserisca la { $length } cifra ricevuta via email.
       *[other] Inserisca le { $length } cifre ricevute via email.
    }
code-submit = Continua
code-expires-in =
    { $minutes ->
        [one] Il codice scade tra { $minutes } minuto.
       *[other] Il codice scade tra { $minutes } minuti.
    }
code-expires-soon = Il codice scade tra meno di un minuto.
code-expired-heading = Il Suo codice è scaduto
code-expired-text = Per la Sua sicurezza, ogni codice è valido solo per pochi minuti. Richieda un nuovo codice per continuare.
resend-button = Invia un nuovo codice
resend-wait =
    { $seconds ->
        [one] Potrà richiedere un nuovo codice tra { $seconds } secondo.
       *[other] Potrà richiedere un nuovo codice tra { $seconds } secondi.
    }
resend-none = Per questo accesso non è possibile inviare altri codici.
cancel-button = Annulla l’accesso

## Pagina di reindirizzamento

redirect-title = Accesso in corso
redirect-heading = Accesso in corso…
redirect-text = Stiamo tornando a { $app }.
redirect-text-generic = Stiamo passando al prossimo passaggio.
redirect-noscript = JavaScript è disattivato nel Suo browser. Selezioni «Continua» per proseguire.
redirect-button = Continua

## Pagina di errore, per causa

error-title =
    { $reason ->
        [invalid_request] Questa richiesta di accesso non è valida
        [send_limited] Troppi codici inviati
        [no_challenge] Nessun accesso in corso
        [expired] Il codice è scaduto
        [locked] Troppi codici errati
        [not_found] Pagina non trovata
       *[other] Si è verificato un errore
    }
error-text =
    { $reason ->
        [invalid_request] La richiesta di accesso era incompleta, scaduta o già utilizzata.
        [send_limited] Sono stati inviati troppi codici a questo indirizzo. Attenda qualche minuto, poi acceda di nuovo.
        [no_challenge] Questo accesso è terminato o scaduto, oppure il browser non ha conservato il cookie.
        [expired] Per la Sua sicurezza, ogni codice è valido solo per pochi minuti.
        [locked] Per la Sua sicurezza, questo codice è stato bloccato dopo troppi tentativi errati.
        [not_found] Questo indirizzo non fa parte dell’accesso oppure non può essere aperto direttamente.
       *[other] Un errore imprevisto ha interrotto l’accesso. Riprovi tra qualche minuto.
    }
error-back = Torni all’applicazione e acceda di nuovo.
error-back-app = Torni a { $app } e acceda di nuovo.
error-restart = Ricomincia l’accesso


## Finished page (what Back shows after the step)

finished-title = Passaggio di accesso completato
finished-heading =
    { $result ->
        [success] Il Suo codice è stato accettato
       *[other] Questo passaggio di accesso è terminato
    }
finished-text =
    { $result ->
        [success] Avrà effettuato l’accesso a { $app } non appena si apre.
       *[other] Torni a { $app } per accedere di nuovo.
    }
finished-text-generic =
    { $result ->
        [success] Avrà effettuato l’accesso non appena si apre l’applicazione.
       *[other] Torni all’applicazione per accedere di nuovo.
    }
finished-link = Vai a { $app }
finished-link-generic = Vai all’applicazione
finished-close = Può chiudere questa pagina.

## Date e orari (tutti in UTC)

month-name =
    { $month ->
        [1] gennaio
        [2] febbraio
        [3] marzo
        [4] aprile
        [5] maggio
        [6] giugno
        [7] luglio
        [8] agosto
        [9] settembre
        [10] ottobre
        [11] novembre
       *[12] dicembre
    }
datetime-full = { $day } { $month } { $year }, { $hour2 }:{ $minute } (UTC)
datetime-date = { $day } { $month } { $year }
datetime-time = { $hour2 }:{ $minute } (UTC)
