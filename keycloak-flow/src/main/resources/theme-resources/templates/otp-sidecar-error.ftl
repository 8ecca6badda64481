<#import "template.ftl" as layout>
<@layout.registrationLayout displayMessage=true; section>
    <#if section = "header">
        ${msg("otpSidecarErrorTitle")}
    <#elseif section = "form">
        <p id="otp-sidecar-error" data-reason="${otpSidecarMessage}">${msg(otpSidecarMessage + "Hint")}</p>
        <#if otpSidecarCanRestart>
            <form id="otp-sidecar-restart" method="post" action="${url.loginAction}">
                <input type="hidden" name="restart" value="1"/>
                <div class="${properties.kcFormGroupClass!}">
                    <button id="otp-sidecar-send-new-code" type="submit"
                            class="${properties.kcButtonClass!} ${properties.kcButtonPrimaryClass!} ${properties.kcButtonBlockClass!} ${properties.kcButtonLargeClass!}">${msg("otpSidecarSendNewCode")}</button>
                </div>
            </form>
        </#if>
        <div class="${properties.kcFormGroupClass!}">
            <a id="otp-sidecar-back-to-login" href="${url.loginRestartFlowUrl}">${msg("otpSidecarBackToLogin")}</a>
        </div>
    </#if>
</@layout.registrationLayout>
