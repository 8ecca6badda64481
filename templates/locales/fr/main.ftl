# Français (vouvoiement). Chaque message de locales/en/main.ftl doit figurer ici.
# Pluriel : [one] pour 0 et 1, *[other] pour le reste.
# Typographie : espace insécable avant « : », espace fine insécable avant « ? ».

## L’e-mail contenant le code

mail-subject = Votre code de connexion pour { $app }
mail-subject-resent = Votre nouveau code de connexion pour { $app }
mail-heading = Votre code de connexion
mail-greeting = Bonjour,
mail-greeting-name = Bonjour { $name },
mail-intro = Utilisez ce code pour vous connecter à { $app } :
mail-intro-resent = Voici votre nouveau code pour vous connecter à { $app }. Les codes envoyés précédemment ne sont plus valables.
mail-expiry =
    { $minutes ->
        [one] Le code expire dans { $minutes } minute, à { $time }.
       *[other] Le code expire dans { $minutes } minutes, à { $time }.
    }
mail-once = Ce code ne fonctionne qu’une seule fois. Ne le communiquez jamais à personne : nous ne vous le demanderons jamais par téléphone, messagerie ou e-mail.
mail-not-you-title = Vous n’avez pas essayé de vous connecter ?
mail-not-you = Vous pouvez ignorer cet e-mail en toute sécurité : personne ne peut se connecter sans le code. Quelqu’un a peut-être saisi votre adresse par erreur. Si vous recevez régulièrement des codes que vous n’avez pas demandés, changez votre mot de passe.
mail-footer = Cet e-mail a été envoyé à { $email } parce qu’une connexion à { $app } a été lancée avec cette adresse.

## Cadre des pages

page-title = { $title } – { $product }

## Saisie du code

code-title = Saisissez votre code
code-heading = Consultez votre messagerie
code-app = pour vous connecter à { $app }
code-sent = Nous avons envoyé un code à { $length } chiffres à l’adresse { $email }.
code-sending = Nous envoyons un code à { $email }. Cette page se met à jour dès que l’e-mail est parti.
code-send-failed = L’e-mail contenant votre code n’a pas pu être envoyé à { $email }. Demandez un nouveau code : il ne vous sera pas décompté.
notice-resent = Nous avons envoyé un nouveau code à l’adresse { $email }. Les codes envoyés précédemment ne sont plus valables.
notice-send-limited = Trop de codes ont été envoyés à cette adresse. Veuillez patienter quelques minutes avant d’en demander un autre.
notice-invalid =
    { $attempts ->
        [0] Ce code est incorrect. Il ne vous reste aucune tentative.
        [one] Ce code est incorrect. Il vous reste { $attempts } tentative.
       *[other] Ce code est incorrect. Il vous reste { $attempts } tentatives.
    }
notice-cooldown =
    { $seconds ->
        [one] Veuillez patienter { $seconds } seconde avant de demander un nouveau code.
       *[other] Veuillez patienter { $seconds } secondes avant de demander un nouveau code.
    }
code-label = Code de connexion
code-hint =
    { $length ->
        [one] Saisissez le chiffre reçu par e-mail.
       *[other] Saisissez les { $length } chiffres reçus par e-mail.
    }
code-submit = Continuer
code-expires-in =
    { $minutes ->
        [one] Le code expire dans { $minutes } minute.
       *[other] Le code expire dans { $minutes } minutes.
    }
code-expires-soon = Le code expire dans moins d’une minute.
code-expired-heading = Votre code a expiré
code-expired-text = Pour votre sécurité, chaque code n’est valable que quelques minutes. Demandez un nouveau code pour continuer.
resend-button = Envoyer un nouveau code
resend-wait =
    { $seconds ->
        [one] Vous pourrez demander un nouveau code dans { $seconds } seconde.
       *[other] Vous pourrez demander un nouveau code dans { $seconds } secondes.
    }
resend-none = Aucun autre code ne peut être envoyé pour cette connexion.
cancel-button = Annuler la connexion

## Redirection

redirect-title = Poursuite de la connexion
redirect-heading = Poursuite de la connexion…
redirect-text = Redirection vers { $app } en cours.
redirect-text-generic = Redirection vers l’étape suivante en cours.
redirect-noscript = JavaScript est désactivé dans votre navigateur. Sélectionnez « Continuer » pour poursuivre.
redirect-button = Continuer

## Page d’erreur, selon la cause

error-title =
    { $reason ->
        [invalid_request] Cette demande de connexion n’est pas valide
        [send_limited] Trop de codes envoyés
        [no_challenge] Aucune connexion en cours
        [expired] Le code a expiré
        [locked] Trop de codes incorrects
        [not_found] Page introuvable
       *[other] Une erreur s’est produite
    }
error-text =
    { $reason ->
        [invalid_request] La demande de connexion était incomplète, avait expiré ou avait déjà été utilisée.
        [send_limited] Trop de codes ont été envoyés à cette adresse. Veuillez patienter quelques minutes, puis vous reconnecter.
        [no_challenge] Cette connexion est terminée ou a expiré, ou votre navigateur n’a pas conservé son cookie.
        [expired] Pour votre sécurité, chaque code n’est valable que quelques minutes.
        [locked] Pour votre sécurité, ce code a été bloqué après trop de tentatives incorrectes.
        [not_found] Cette adresse ne fait pas partie de la connexion, ou ne peut pas être ouverte directement.
       *[other] Une erreur inattendue a interrompu la connexion. Veuillez réessayer dans quelques minutes.
    }
error-back = Revenez à l’application et connectez-vous à nouveau.
error-back-app = Revenez à { $app } et connectez-vous à nouveau.
error-restart = Recommencer la connexion


## Finished page (what Back shows after the step)

finished-title = Étape de connexion terminée
finished-heading =
    { $result ->
        [success] Votre code a été accepté
       *[other] Cette étape de connexion est terminée
    }
finished-text =
    { $result ->
        [success] Vous êtes connecté à { $app } dès son ouverture.
       *[other] Revenez à { $app } pour vous connecter à nouveau.
    }
finished-text-generic =
    { $result ->
        [success] Vous êtes connecté dès l’ouverture de l’application.
       *[other] Revenez à l’application pour vous connecter à nouveau.
    }
finished-link = Aller à { $app }
finished-link-generic = Aller à l’application
finished-close = Vous pouvez fermer cette page.

## Dates et heures (toutes en UTC)

month-name =
    { $month ->
        [1] janvier
        [2] février
        [3] mars
        [4] avril
        [5] mai
        [6] juin
        [7] juillet
        [8] août
        [9] septembre
        [10] octobre
        [11] novembre
       *[12] décembre
    }
datetime-full =
    { $day ->
        [1] 1er { $month } { $year } à { $hour2 }:{ $minute } (UTC)
       *[other] { $day } { $month } { $year } à { $hour2 }:{ $minute } (UTC)
    }
datetime-date =
    { $day ->
        [1] 1er { $month } { $year }
       *[other] { $day } { $month } { $year }
    }
datetime-time = { $hour2 }:{ $minute } (UTC)
