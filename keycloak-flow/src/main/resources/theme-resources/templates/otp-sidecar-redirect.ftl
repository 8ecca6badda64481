<#import "template.ftl" as layout>
<@layout.registrationLayout displayMessage=false; section>
    <#if section = "header">
        ${msg("otpSidecarRedirectTitle")}
    <#elseif section = "form">
        <form id="otp-sidecar-request" method="post" action="${otpSidecarAuthorizeUrl}">
            <input type="hidden" name="request" value="${otpSidecarRequest}"/>
            <p id="otp-sidecar-redirect-info">${msg("otpSidecarRedirectInfo")}</p>
            <div class="${properties.kcFormGroupClass!}">
                <button id="otp-sidecar-continue" type="submit"
                        class="${properties.kcButtonClass!} ${properties.kcButtonPrimaryClass!} ${properties.kcButtonBlockClass!} ${properties.kcButtonLargeClass!}">${msg("otpSidecarContinue")}</button>
            </div>
        </form>
        <script src="${url.resourcesPath}/js/otp-sidecar-autosubmit.js" defer></script>
    </#if>
</@layout.registrationLayout>
