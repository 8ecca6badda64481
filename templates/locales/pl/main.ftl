# Polski (forma "Ty"). Każdy komunikat z locales/en/main.ftl musi się tu znaleźć.
# Liczba mnoga: [one] dla 1, [few] dla 2–4, 22–24…, [many] dla 0, 5–21, 25–31…,
# *[other] dla ułamków.

## E-mail z kodem

mail-subject = Twój kod logowania do { $app }
mail-subject-resent = Twój nowy kod logowania do { $app }
mail-heading = Twój kod logowania
mail-greeting = Dzień dobry,
mail-greeting-name = Dzień dobry, { $name },
mail-intro = Użyj tego kodu, aby zalogować się do { $app }:
mail-intro-resent = Oto Twój nowy kod logowania do { $app }. Wcześniej wysłane kody już nie działają.
mail-expiry =
    { $minutes ->
        [one] Kod wygaśnie za { $minutes } minutę, o { $time }.
        [few] Kod wygaśnie za { $minutes } minuty, o { $time }.
        [many] Kod wygaśnie za { $minutes } minut, o { $time }.
       *[other] Kod wygaśnie za { $minutes } minuty, o { $time }.
    }
mail-once = Kod działa tylko raz. Nigdy nikomu go nie podawaj: nigdy nie poprosimy o niego telefonicznie, na czacie ani e-mailem.
mail-not-you-title = To nie Ty próbujesz się zalogować?
mail-not-you = Możesz spokojnie zignorować tę wiadomość: bez kodu nikt się nie zaloguje. Możliwe, że ktoś przez pomyłkę wpisał Twój adres. Jeśli nadal dostajesz kody, o które nie prosisz, zmień hasło.
mail-footer = Ta wiadomość została wysłana na adres { $email }, ponieważ ktoś zaczął logować się do { $app } z użyciem tego adresu.

## Ramka strony

page-title = { $title } – { $product }

## Strona z kodem

code-title = Wpisz kod
code-heading = Sprawdź pocztę
code-app = aby zalogować się do { $app }
code-sent = Wysłaliśmy { $length }-cyfrowy kod na adres { $email }.
code-sending = Wysyłamy kod na adres { $email }. Ta strona odświeży się, gdy wiadomość zostanie wysłana.
code-send-failed = Nie udało się wysłać wiadomości z kodem na adres { $email }. Poproś o nowy kod: nie zostanie Ci on policzony.
notice-resent = Wysłaliśmy nowy kod na adres { $email }. Wcześniej wysłane kody już nie działają.
notice-send-limited = Na ten adres wysłano zbyt wiele kodów. Odczekaj kilka minut, zanim poprosisz o kolejny.
notice-invalid =
    { $attempts ->
        [0] Ten kod jest nieprawidłowy. Nie masz już prób.
        [one] Ten kod jest nieprawidłowy. Została Ci { $attempts } próba.
        [few] Ten kod jest nieprawidłowy. Zostały Ci { $attempts } próby.
        [many] Ten kod jest nieprawidłowy. Zostało Ci { $attempts } prób.
       *[other] Ten kod jest nieprawidłowy. Zostało Ci { $attempts } próby.
    }
notice-cooldown =
    { $seconds ->
        [one] Odczekaj { $seconds } sekundę, zanim poprosisz o nowy kod.
        [few] Odczekaj { $seconds } sekundy, zanim poprosisz o nowy kod.
        [many] Odczekaj { $seconds } sekund, zanim poprosisz o nowy kod.
       *[other] Odczekaj { $seconds } sekundy, zanim poprosisz o nowy kod.
    }
code-label = Kod logowania
code-hint =
    { $length ->
        [one] Wpisz { $length } cyfrę z wiadomości.
        [few] Wpisz { $length } cyfry z wiadomości.
        [many] Wpisz { $length } cyfr z wiadomości.
       *[other] Wpisz { $length } cyfry z wiadomości.
    }
code-submit = Dalej
code-expires-in =
    { $minutes ->
        [one] Kod wygaśnie za { $minutes } minutę.
        [few] Kod wygaśnie za { $minutes } minuty.
        [many] Kod wygaśnie za { $minutes } minut.
       *[other] Kod wygaśnie za { $minutes } minuty.
    }
code-expires-soon = Kod wygaśnie za mniej niż minutę.
code-expired-heading = Twój kod wygasł
code-expired-text = Dla Twojego bezpieczeństwa każdy kod działa tylko przez kilka minut. Poproś o nowy kod, aby kontynuować.
resend-button = Wyślij nowy kod
resend-wait =
    { $seconds ->
        [one] Nowy kod możesz zamówić za { $seconds } sekundę.
        [few] Nowy kod możesz zamówić za { $seconds } sekundy.
        [many] Nowy kod możesz zamówić za { $seconds } sekund.
       *[other] Nowy kod możesz zamówić za { $seconds } sekundy.
    }
resend-none = Dla tego logowania nie można już wysłać kolejnych kodów.
cancel-button = Anuluj logowanie

## Strona przekierowania

redirect-title = Kontynuowanie logowania
redirect-heading = Kontynuowanie logowania…
redirect-text = Wracasz do { $app }.
redirect-text-generic = Przechodzisz do następnego kroku.
redirect-noscript = JavaScript jest wyłączony w Twojej przeglądarce. Wybierz „Dalej”, aby kontynuować.
redirect-button = Dalej

## Strona błędu, według przyczyny

error-title =
    { $reason ->
        [invalid_request] To żądanie logowania jest nieprawidłowe
        [send_limited] Wysłano zbyt wiele kodów
        [no_challenge] Żadne logowanie nie jest w toku
        [expired] Kod wygasł
        [locked] Zbyt wiele błędnych kodów
        [not_found] Nie znaleziono strony
       *[other] Coś poszło nie tak
    }
error-text =
    { $reason ->
        [invalid_request] Żądanie logowania było niepełne, wygasło albo zostało już użyte.
        [send_limited] Na ten adres wysłano zbyt wiele kodów. Odczekaj kilka minut, a potem zaloguj się ponownie.
        [no_challenge] To logowanie zostało zakończone lub wygasło albo przeglądarka nie zachowała pliku cookie.
        [expired] Dla Twojego bezpieczeństwa każdy kod działa tylko przez kilka minut.
        [locked] Dla Twojego bezpieczeństwa ten kod został zablokowany po zbyt wielu błędnych próbach.
        [not_found] Ten adres nie należy do logowania albo nie można go otworzyć bezpośrednio.
       *[other] Nieoczekiwany błąd przerwał logowanie. Spróbuj ponownie za kilka minut.
    }
error-back = Wróć do aplikacji i zaloguj się ponownie.
error-back-app = Wróć do { $app } i zaloguj się ponownie.
error-restart = Zacznij logowanie od nowa


## Finished page (what Back shows after the step)

finished-title = Krok logowania zakończony
finished-heading =
    { $result ->
        [success] Kod został przyjęty
       *[other] Ten krok logowania został zakończony
    }
finished-text =
    { $result ->
        [success] Zostaniesz zalogowany do { $app }, gdy tylko się otworzy.
       *[other] Wróć do { $app }, aby zalogować się ponownie.
    }
finished-text-generic =
    { $result ->
        [success] Zostaniesz zalogowany, gdy tylko aplikacja się otworzy.
       *[other] Wróć do aplikacji, aby zalogować się ponownie.
    }
finished-link = Przejdź do { $app }
finished-link-generic = Przejdź do aplikacji
finished-close = Możesz zamknąć tę stronę.

## Daty i godziny (wszystkie w UTC)

# Nazwy miesięcy w dopełniaczu („1 grudnia”).
month-name =
    { $month ->
        [1] stycznia
        [2] lutego
        [3] marca
        [4] kwietnia
        [5] maja
        [6] czerwca
        [7] lipca
        [8] sierpnia
        [9] września
        [10] października
        [11] listopada
       *[12] grudnia
    }
datetime-full = { $day } { $month } { $year }, { $hour2 }:{ $minute } (UTC)
datetime-date = { $day } { $month } { $year }
datetime-time = { $hour2 }:{ $minute } (UTC)
