// The sign-in page: the library's ID and a staff key (not the ILS's API key).
import { html } from './html';
import { layout, type PageContext } from './layout';

export const signInPage = (ctx: PageContext, form: { institutionId?: string; signInToken: string; configured: boolean }): string =>
  layout(
    ctx,
    'Sign in to the staff console',
    html`<div class="sign-in panel">
<p>Sign in with your library's ID and a staff key. IT sets staff keys in the configuration (<code>consoleKeys</code>, or <code>consoleKeyHashes</code> on AWS); they are not the ILS's API keys.</p>
${form.configured ? '' : html`<p class="message error" role="alert">No staff key is set up for any library yet: IT adds one to the configuration first.</p>`}
<form method="post" action="${ctx.base}/sign-in">
<input type="hidden" name="signin" value="${form.signInToken}">
<label for="institution">Library ID</label>
<input type="text" id="institution" name="institution" value="${form.institutionId ?? ''}" autocomplete="username" required maxlength="40" autocapitalize="none" spellcheck="false">
<label for="key">Staff key</label>
<input type="password" id="key" name="key" autocomplete="current-password" required maxlength="256">
<button type="submit">Sign in</button>
</form>
</div>`,
  );
