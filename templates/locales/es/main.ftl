# Español (tratamiento de usted). Cada mensaje de locales/en/main.ftl debe estar aquí.
# Plural: [one] para 1, *[other] para el resto.

## El correo con el código

mail-subject = Su código de inicio de sesión para { $app }
mail-subject-resent = Su nuevo código de inicio de sesión para { $app }
mail-heading = Su código de inicio de sesión
mail-greeting = Hola:
mail-greeting-name = Hola, { $name }:
mail-intro = Utilice este código para iniciar sesión en { $app }:
mail-intro-resent = Este es su nuevo código para iniciar sesión en { $app }. Los códigos enviados anteriormente ya no son válidos.
# { $time } lleva su artículo («las 15:06», «la 1:06»): véase datetime-time.
mail-expiry =
    { $minutes ->
        [one] El código caduca dentro de { $minutes } minuto, a { $time }.
       *[other] El código caduca dentro de { $minutes } minutos, a { $time }.
    }
mail-once = El código solo se puede usar una vez. No lo comparta con nadie: nunca se lo pediremos por teléfono, chat ni correo electrónico.
mail-not-you-title = ¿No ha intentado iniciar sesión?
mail-not-you = Puede ignorar este correo con total tranquilidad: nadie puede iniciar sesión sin el código. Es posible que alguien haya escrito su dirección por error. Si sigue recibiendo códigos que no ha solicitado, cambie su contraseña.
mail-footer = Este correo se ha enviado a { $email } porque alguien ha empezado a iniciar sesión en { $app } con esta dirección.

## Marco de las páginas

page-title = { $title } – { $product }

## Introducción del código

code-title = Introduzca su código
code-heading = Revise su correo electrónico
code-app = para iniciar sesión en { $app }
code-sent = Hemos enviado un código de { $length } dígitos a { $email }.
code-sending = Estamos enviando un código a { $email }. Esta página se actualizará cuando el correo haya salido.
code-send-failed = No se ha podido enviar el correo con su código a { $email }. Solicite un código nuevo: no se le tendrá en cuenta.
notice-resent = Hemos enviado un nuevo código a { $email }. Los códigos enviados anteriormente ya no son válidos.
notice-send-limited = Se han enviado demasiados códigos a esta dirección. Espere unos minutos antes de solicitar otro.
notice-invalid =
    { $attempts ->
        [0] El código no es correcto. No le quedan más intentos.
        [one] El código no es correcto. Le queda { $attempts } intento.
       *[other] El código no es correcto. Le quedan { $attempts } intentos.
    }
notice-cooldown =
    { $seconds ->
        [one] Espere { $seconds } segundo antes de solicitar un nuevo código.
       *[other] Espere { $seconds } segundos antes de solicitar un nuevo código.
    }
code-label = Código de inicio de sesión
code-hint =
    { $length ->
        [one] Introduzca el dígito que aparece en el correo.
       *[other] Introduzca los { $length } dígitos que aparecen en el correo.
    }
code-submit = Continuar
code-expires-in =
    { $minutes ->
        [one] El código caduca en { $minutes } minuto.
       *[other] El código caduca en { $minutes } minutos.
    }
code-expires-soon = El código caduca en menos de un minuto.
code-expired-heading = Su código ha caducado
code-expired-text = Por su seguridad, cada código solo sirve durante unos minutos. Pida un código nuevo para continuar.
resend-button = Enviar un nuevo código
resend-wait =
    { $seconds ->
        [one] Podrá solicitar un nuevo código dentro de { $seconds } segundo.
       *[other] Podrá solicitar un nuevo código dentro de { $seconds } segundos.
    }
resend-none = No se pueden enviar más códigos para este inicio de sesión.
cancel-button = Cancelar el inicio de sesión

## Redirección

redirect-title = Continuando con el inicio de sesión
redirect-heading = Continuando con el inicio de sesión…
redirect-text = Le estamos redirigiendo a { $app }.
redirect-text-generic = Le estamos redirigiendo al siguiente paso.
redirect-noscript = JavaScript está desactivado en su navegador. Seleccione «Continuar» para seguir.
redirect-button = Continuar

## Página de error, según el motivo

error-title =
    { $reason ->
        [invalid_request] Esta solicitud de inicio de sesión no es válida
        [send_limited] Demasiados códigos enviados
        [no_challenge] No hay ningún inicio de sesión en curso
        [expired] El código ha caducado
        [locked] Demasiados códigos incorrectos
        [not_found] Página no encontrada
       *[other] Se ha producido un error
    }
error-text =
    { $reason ->
        [invalid_request] La solicitud de inicio de sesión estaba incompleta, había caducado o ya se había utilizado.
        [send_limited] Se han enviado demasiados códigos a esta dirección. Espere unos minutos y vuelva a iniciar sesión.
        [no_challenge] Este inicio de sesión ha finalizado o ha caducado, o su navegador no ha conservado la cookie.
        [expired] Por su seguridad, cada código solo es válido durante unos minutos.
        [locked] Por su seguridad, este código se ha bloqueado tras demasiados intentos incorrectos.
        [not_found] Esta dirección no forma parte del inicio de sesión o no se puede abrir directamente.
       *[other] Un error inesperado ha interrumpido el inicio de sesión. Inténtelo de nuevo dentro de unos minutos.
    }
error-back = Vuelva a la aplicación e inicie sesión de nuevo.
error-back-app = Vuelva a { $app } e inicie sesión de nuevo.
error-restart = Volver a iniciar sesión


## Finished page (what Back shows after the step)

finished-title = Paso de inicio de sesión terminado
finished-heading =
    { $result ->
        [success] Su código ha sido aceptado
       *[other] Este paso de inicio de sesión ha terminado
    }
finished-text =
    { $result ->
        [success] Habrá iniciado sesión en { $app } en cuanto se abra.
       *[other] Vuelva a { $app } para iniciar sesión de nuevo.
    }
finished-text-generic =
    { $result ->
        [success] Habrá iniciado sesión en cuanto se abra la aplicación.
       *[other] Vuelva a la aplicación para iniciar sesión de nuevo.
    }
finished-link = Ir a { $app }
finished-link-generic = Ir a la aplicación
finished-close = Puede cerrar esta página.

## Fechas y horas (todas en UTC)

month-name =
    { $month ->
        [1] enero
        [2] febrero
        [3] marzo
        [4] abril
        [5] mayo
        [6] junio
        [7] julio
        [8] agosto
        [9] septiembre
        [10] octubre
        [11] noviembre
       *[12] diciembre
    }
datetime-full = { $day } de { $month } de { $year }, { $hour }:{ $minute } (UTC)
datetime-date = { $day } de { $month } de { $year }
# Con artículo, para «a las 15:06» y «hasta la 1:06».
datetime-time =
    { $hour ->
        [1] la { $hour }:{ $minute } (UTC)
       *[other] las { $hour }:{ $minute } (UTC)
    }
