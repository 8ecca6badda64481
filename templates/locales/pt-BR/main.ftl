# Português do Brasil (tratamento "você"). Toda mensagem de locales/en/main.ftl deve estar aqui.
# Plural: [one] para 0 e 1, *[other] para o resto.

## O e-mail com o código

mail-subject = Seu código de acesso para { $app }
mail-subject-resent = Seu novo código de acesso para { $app }
mail-heading = Seu código de acesso
mail-greeting = Olá,
mail-greeting-name = Olá, { $name },
mail-intro = Use este código para entrar em { $app }:
mail-intro-resent = Aqui está seu novo código para entrar em { $app }. Os códigos enviados antes não funcionam mais.
mail-expiry =
    { $minutes ->
        [one] O código expira em { $minutes } minuto, às { $time }.
       *[other] O código expira em { $minutes } minutos, às { $time }.
    }
mail-once = O código só funciona uma vez. Nunca o compartilhe com ninguém: nunca pediremos o código por telefone, chat ou e-mail.
mail-not-you-title = Não foi você que tentou entrar?
mail-not-you = Pode ignorar este e-mail com tranquilidade: ninguém consegue entrar sem o código. Talvez alguém tenha digitado seu endereço por engano. Se você continuar recebendo códigos que não pediu, troque sua senha.
mail-footer = Este e-mail foi enviado para { $email } porque alguém começou a entrar em { $app } com este endereço.

## Moldura da página

page-title = { $title } – { $product }

## Página do código

code-title = Digite seu código
code-heading = Confira seu e-mail
code-app = para entrar em { $app }
code-sent = Enviamos um código de { $length } dígitos para { $email }.
code-sending = Estamos enviando um código para { $email }. Esta página se atualiza quando o e-mail sair.
code-send-failed = Não conseguimos enviar o e-mail com seu código para { $email }. Peça um novo código: ele não conta contra você.
notice-resent = Enviamos um novo código para { $email }. Os códigos enviados antes não funcionam mais.
notice-send-limited = Foram enviados códigos demais para este endereço. Aguarde alguns minutos antes de pedir outro.
notice-invalid =
    { $attempts ->
        [0] Esse código não está correto. Você não tem mais tentativas.
        [one] Esse código não está correto. Você tem mais { $attempts } tentativa.
       *[other] Esse código não está correto. Você tem mais { $attempts } tentativas.
    }
notice-cooldown =
    { $seconds ->
        [one] Aguarde { $seconds } segundo antes de pedir um novo código.
       *[other] Aguarde { $seconds } segundos antes de pedir um novo código.
    }
code-label = Código de acesso
code-hint =
    { $length ->
        [one] Digite o { $length } dígito do e-mail.
       *[other] Digite os { $length } dígitos do e-mail.
    }
code-submit = Continuar
code-expires-in =
    { $minutes ->
        [one] O código expira em { $minutes } minuto.
       *[other] O código expira em { $minutes } minutos.
    }
code-expires-soon = O código expira em menos de um minuto.
code-expired-heading = Seu código expirou
code-expired-text = Para sua segurança, cada código só funciona por poucos minutos. Peça um novo código para continuar.
resend-button = Enviar um novo código
resend-wait =
    { $seconds ->
        [one] Você pode pedir um novo código em { $seconds } segundo.
       *[other] Você pode pedir um novo código em { $seconds } segundos.
    }
resend-none = Não é possível enviar mais códigos para este acesso.
cancel-button = Cancelar o acesso

## Página de redirecionamento

redirect-title = Continuando o acesso
redirect-heading = Continuando o acesso…
redirect-text = Você está voltando para { $app }.
redirect-text-generic = Você está indo para a próxima etapa.
redirect-noscript = O JavaScript está desativado no seu navegador. Selecione “Continuar” para seguir.
redirect-button = Continuar

## Página de erro, por motivo

error-title =
    { $reason ->
        [invalid_request] Esta solicitação de acesso não é válida
        [send_limited] Códigos demais enviados
        [no_challenge] Nenhum acesso em andamento
        [expired] O código expirou
        [locked] Códigos errados demais
        [not_found] Página não encontrada
       *[other] Algo deu errado
    }
error-text =
    { $reason ->
        [invalid_request] A solicitação de acesso estava incompleta, expirou ou já foi usada.
        [send_limited] Foram enviados códigos demais para este endereço. Aguarde alguns minutos e entre de novo.
        [no_challenge] Este acesso terminou ou expirou, ou seu navegador não guardou o cookie.
        [expired] Para sua segurança, cada código só funciona por poucos minutos.
        [locked] Para sua segurança, este código foi bloqueado depois de tentativas erradas demais.
        [not_found] Este endereço não faz parte do acesso ou não pode ser aberto diretamente.
       *[other] Um erro inesperado interrompeu o acesso. Tente de novo em alguns minutos.
    }
error-back = Volte para o aplicativo e entre de novo.
error-back-app = Volte para { $app } e entre de novo.
error-restart = Começar o acesso de novo


## Finished page (what Back shows after the step)

finished-title = Etapa de acesso concluída
finished-heading =
    { $result ->
        [success] Seu código foi aceito
       *[other] Esta etapa de acesso terminou
    }
finished-text =
    { $result ->
        [success] Você estará conectado a { $app } assim que ele abrir.
       *[other] Volte para { $app } para entrar de novo.
    }
finished-text-generic =
    { $result ->
        [success] Você estará conectado assim que o aplicativo abrir.
       *[other] Volte para o aplicativo para entrar de novo.
    }
finished-link = Ir para { $app }
finished-link-generic = Ir para o aplicativo
finished-close = Você pode fechar esta página.

## Datas e horas (todas em UTC)

month-name =
    { $month ->
        [1] janeiro
        [2] fevereiro
        [3] março
        [4] abril
        [5] maio
        [6] junho
        [7] julho
        [8] agosto
        [9] setembro
        [10] outubro
        [11] novembro
       *[12] dezembro
    }
datetime-full = { $day } de { $month } de { $year }, { $hour2 }:{ $minute } (UTC)
datetime-date = { $day } de { $month } de { $year }
datetime-time = { $hour2 }:{ $minute } (UTC)
