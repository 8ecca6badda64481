# Čeština (vykání). Každá zpráva z locales/en/main.ftl musí být i zde.
# Množné číslo: [one] pro 1, [few] pro 2–4, [many] pro desetinná čísla,
# *[other] pro 0, 5 a víc.

## E-mail s kódem

mail-subject = Váš přihlašovací kód pro { $app }
mail-subject-resent = Váš nový přihlašovací kód pro { $app }
mail-heading = Váš přihlašovací kód
mail-greeting = Dobrý den,
mail-greeting-name = Dobrý den, { $name },
mail-intro = Tímto kódem se přihlásíte do { $app }:
mail-intro-resent = Zde je váš nový kód pro přihlášení do { $app }. Dříve odeslané kódy už neplatí.
mail-expiry =
    { $minutes ->
        [one] Kód vyprší za { $minutes } minutu, v { $time }.
        [few] Kód vyprší za { $minutes } minuty, v { $time }.
        [many] Kód vyprší za { $minutes } minuty, v { $time }.
       *[other] Kód vyprší za { $minutes } minut, v { $time }.
    }
mail-once = Kód funguje jen jednou. Nikomu ho nesdělujte: nikdy se na něj nebudeme ptát telefonem, v chatu ani e-mailem.
mail-not-you-title = Nepřihlašovali jste se?
mail-not-you = Tento e-mail můžete klidně ignorovat: bez kódu se nikdo nepřihlásí. Možná někdo omylem zadal vaši adresu. Pokud vám dál chodí kódy, o které jste nežádali, změňte si heslo.
mail-footer = Tento e-mail byl odeslán na { $email }, protože někdo s touto adresou začal přihlašování do { $app }.

## Rámec stránky

page-title = { $title } – { $product }

## Stránka pro zadání kódu

code-title = Zadejte kód
code-heading = Podívejte se do e-mailu
code-app = pro přihlášení do { $app }
code-sent = Na adresu { $email } jsme poslali { $length }místný kód.
code-sending = Posíláme kód na adresu { $email }. Stránka se obnoví, až e-mail odejde.
code-send-failed = E-mail s kódem se nám na adresu { $email } nepodařilo odeslat. Vyžádejte si nový kód: nebude se vám počítat.
notice-resent = Na adresu { $email } jsme poslali nový kód. Dříve odeslané kódy už neplatí.
notice-send-limited = Na tuto adresu bylo odesláno příliš mnoho kódů. Než si vyžádáte další, počkejte několik minut.
notice-invalid =
    { $attempts ->
        [0] Kód není správný. Nezbývá vám žádný pokus.
        [one] Kód není správný. Zbývá vám { $attempts } pokus.
        [few] Kód není správný. Zbývají vám { $attempts } pokusy.
        [many] Kód není správný. Zbývá vám { $attempts } pokusu.
       *[other] Kód není správný. Zbývá vám { $attempts } pokusů.
    }
notice-cooldown =
    { $seconds ->
        [one] Než si vyžádáte nový kód, počkejte { $seconds } sekundu.
        [few] Než si vyžádáte nový kód, počkejte { $seconds } sekundy.
        [many] Než si vyžádáte nový kód, počkejte { $seconds } sekundy.
       *[other] Než si vyžádáte nový kód, počkejte { $seconds } sekund.
    }
code-label = Přihlašovací kód
code-hint =
    { $length ->
        [one] Zadejte { $length } číslici z e-mailu.
        [few] Zadejte { $length } číslice z e-mailu.
        [many] Zadejte { $length } číslice z e-mailu.
       *[other] Zadejte { $length } číslic z e-mailu.
    }
code-submit = Pokračovat
code-expires-in =
    { $minutes ->
        [one] Kód vyprší za { $minutes } minutu.
        [few] Kód vyprší za { $minutes } minuty.
        [many] Kód vyprší za { $minutes } minuty.
       *[other] Kód vyprší za { $minutes } minut.
    }
code-expires-soon = Kód vyprší za méně než minutu.
code-expired-heading = Platnost kódu vypršela
code-expired-text = Kvůli vaší bezpečnosti platí každý kód jen několik minut. Pokračujte tím, že si vyžádáte nový kód.
resend-button = Poslat nový kód
resend-wait =
    { $seconds ->
        [one] Nový kód si můžete vyžádat za { $seconds } sekundu.
        [few] Nový kód si můžete vyžádat za { $seconds } sekundy.
        [many] Nový kód si můžete vyžádat za { $seconds } sekundy.
       *[other] Nový kód si můžete vyžádat za { $seconds } sekund.
    }
resend-none = Pro toto přihlášení už nelze poslat žádný další kód.
cancel-button = Zrušit přihlášení

## Stránka přesměrování

redirect-title = Pokračování přihlášení
redirect-heading = Pokračujeme v přihlášení…
redirect-text = Vracíme vás do { $app }.
redirect-text-generic = Přecházíte k dalšímu kroku.
redirect-noscript = Ve vašem prohlížeči je vypnutý JavaScript. Pokračujte volbou „Pokračovat“.
redirect-button = Pokračovat

## Chybová stránka podle příčiny

error-title =
    { $reason ->
        [invalid_request] Tento požadavek na přihlášení není platný
        [send_limited] Odesláno příliš mnoho kódů
        [no_challenge] Neprobíhá žádné přihlášení
        [expired] Platnost kódu vypršela
        [locked] Příliš mnoho chybných kódů
        [not_found] Stránka nenalezena
       *[other] Něco se pokazilo
    }
error-text =
    { $reason ->
        [invalid_request] Požadavek na přihlášení byl neúplný, vypršel nebo už byl použit.
        [send_limited] Na tuto adresu bylo odesláno příliš mnoho kódů. Počkejte několik minut a pak se přihlaste znovu.
        [no_challenge] Toto přihlášení skončilo nebo vypršelo, nebo si váš prohlížeč neuložil cookie.
        [expired] Kvůli vaší bezpečnosti platí každý kód jen několik minut.
        [locked] Kvůli vaší bezpečnosti byl tento kód po příliš mnoha chybných pokusech zablokován.
        [not_found] Tato adresa není součástí přihlášení, nebo ji nelze otevřít přímo.
       *[other] Přihlášení přerušila neočekávaná chyba. Zkuste to prosím znovu za několik minut.
    }
error-back = Vraťte se do aplikace a přihlaste se znovu.
error-back-app = Vraťte se do { $app } a přihlaste se znovu.
error-restart = Začít přihlášení znovu


## Finished page (what Back shows after the step)

finished-title = Krok přihlášení dokončen
finished-heading =
    { $result ->
        [success] Váš kód byl přijat
       *[other] Tento krok přihlášení skončil
    }
finished-text =
    { $result ->
        [success] Do { $app } budete přihlášeni, jakmile se otevře.
       *[other] Vraťte se do { $app } a přihlaste se znovu.
    }
finished-text-generic =
    { $result ->
        [success] Budete přihlášeni, jakmile se aplikace otevře.
       *[other] Vraťte se do aplikace a přihlaste se znovu.
    }
finished-link = Přejít do { $app }
finished-link-generic = Přejít do aplikace
finished-close = Tuto stránku můžete zavřít.

## Datum a čas (vše v UTC)

# Názvy měsíců ve 2. pádě („1. prosince“).
month-name =
    { $month ->
        [1] ledna
        [2] února
        [3] března
        [4] dubna
        [5] května
        [6] června
        [7] července
        [8] srpna
        [9] září
        [10] října
        [11] listopadu
       *[12] prosince
    }
datetime-full = { $day }. { $month } { $year }, { $hour2 }:{ $minute } (UTC)
datetime-date = { $day }. { $month } { $year }
datetime-time = { $hour2 }:{ $minute } (UTC)
