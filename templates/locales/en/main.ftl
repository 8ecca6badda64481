# Messages for English (the default locale: every other locale falls back to it,
# and every message here must exist in the other locales).
# Syntax: https://projectfluent.org/fluent/guide/
# Plurals: numbers select [one] / *[other] (and [zero], [two], [few], [many] where
# the language has them).

## The code mail

mail-subject = Your sign-in code for { $app }
mail-subject-resent = Your new sign-in code for { $app }
mail-heading = Your sign-in code
mail-greeting = Hello,
mail-greeting-name = Hello { $name },
mail-intro = Use this code to sign in to { $app }:
mail-intro-resent = Here is your new code to sign in to { $app }. Codes sent earlier no longer work.
mail-expiry =
    { $minutes ->
        [one] The code expires in { $minutes } minute, at { $time }.
       *[other] The code expires in { $minutes } minutes, at { $time }.
    }
mail-once = The code works only once. Never share it with anyone: we will never ask you for it by phone, chat or email.
mail-not-you-title = Didn’t try to sign in?
mail-not-you = You can safely ignore this email: nobody can sign in without the code. Someone may have typed your address by mistake. If you keep getting codes you did not ask for, change your password.
mail-footer = This email was sent to { $email } because someone started signing in to { $app } with this address.

## Page frame

page-title = { $title } – { $product }

## Code entry page

code-title = Enter your code
code-heading = Check your email
code-app = to sign in to { $app }
code-sent = We sent a { $length }-digit code to { $email }.
code-sending = We are sending a code to { $email }. This page updates when the email has left.
code-send-failed = We could not send the email with your code to { $email }. Send a new code: it does not count against you.
notice-resent = We sent a new code to { $email }. Codes sent earlier no longer work.
notice-send-limited = Too many codes were sent to this address. Please wait a few minutes before you ask for another one.
notice-invalid =
    { $attempts ->
        [0] That code is not correct. You have no attempts left.
        [one] That code is not correct. You have { $attempts } attempt left.
       *[other] That code is not correct. You have { $attempts } attempts left.
    }
notice-cooldown =
    { $seconds ->
        [one] Please wait { $seconds } second before asking for a new code.
       *[other] Please wait { $seconds } seconds before asking for a new code.
    }
code-label = Sign-in code
code-hint =
    { $length ->
        [one] Enter the { $length } digit from the email.
       *[other] Enter the { $length } digits from the email.
    }
code-submit = Continue
code-expires-in =
    { $minutes ->
        [one] The code expires in { $minutes } minute.
       *[other] The code expires in { $minutes } minutes.
    }
code-expires-soon = The code expires in less than a minute.
code-expired-heading = Your code has expired
code-expired-text = For your security, each code works only for a few minutes. Send yourself a new code to go on.
resend-button = Send a new code
resend-wait =
    { $seconds ->
        [one] You can ask for a new code in { $seconds } second.
       *[other] You can ask for a new code in { $seconds } seconds.
    }
resend-none = No more new codes can be sent for this sign-in.
cancel-button = Cancel sign-in

## Redirect page (the browser continues on its own)

redirect-title = Continuing sign-in
redirect-heading = Continuing sign-in…
redirect-text = You are being taken back to { $app }.
redirect-text-generic = You are being taken to the next step.
redirect-noscript = JavaScript is turned off in your browser. Select “Continue” to go on.
redirect-button = Continue

## Error page, by reason

error-title =
    { $reason ->
        [invalid_request] This sign-in request is not valid
        [send_limited] Too many codes sent
        [no_challenge] No sign-in in progress
        [expired] The code has expired
        [locked] Too many wrong codes
        [not_found] Page not found
       *[other] Something went wrong
    }
error-text =
    { $reason ->
        [invalid_request] The sign-in request was incomplete, expired or already used.
        [send_limited] Too many codes were sent to this address. Please wait a few minutes, then sign in again.
        [no_challenge] This sign-in has finished or timed out, or your browser did not keep its cookie.
        [expired] For your security, each code works only for a few minutes.
        [locked] For your security, this code has been blocked after too many wrong attempts.
        [not_found] This address is not part of the sign-in, or it cannot be opened directly.
       *[other] An unexpected error stopped the sign-in. Please try again in a few minutes.
    }
error-back = Go back to the application and sign in again.
error-back-app = Go back to { $app } and sign in again.
error-restart = Start sign-in again


## Finished page (what Back shows after the step)

finished-title = Sign-in step finished
finished-heading =
    { $result ->
        [success] Your code was accepted
       *[other] This sign-in step has ended
    }
finished-text =
    { $result ->
        [success] You are signed in to { $app } once it opens.
       *[other] Go back to { $app } to sign in again.
    }
finished-text-generic =
    { $result ->
        [success] You are signed in once the application opens.
       *[other] Go back to the application to sign in again.
    }
finished-link = Go to { $app }
finished-link-generic = Go to the application
finished-close = You can close this page.

## Dates and times (all times are UTC)

month-name =
    { $month ->
        [1] January
        [2] February
        [3] March
        [4] April
        [5] May
        [6] June
        [7] July
        [8] August
        [9] September
        [10] October
        [11] November
       *[12] December
    }
# Variables: $year, $month (the name from month-name), $month2 (01-12), $day
# (1-31, a number), $day2 (01-31), $hour (0-23, a number), $hour2 (00-23),
# $hour12 (1-12, a number), $minute (00-59), $dayperiod (am or pm),
# $weekday (1 = Monday ... 7 = Sunday).
datetime-full =
    { $dayperiod ->
        [am] { $month } { $day }, { $year }, { $hour12 }:{ $minute } AM UTC
       *[pm] { $month } { $day }, { $year }, { $hour12 }:{ $minute } PM UTC
    }
datetime-date = { $month } { $day }, { $year }
datetime-time =
    { $dayperiod ->
        [am] { $hour12 }:{ $minute } AM UTC
       *[pm] { $hour12 }:{ $minute } PM UTC
    }
