// The console's error page: what went wrong, in words, and the way back.
import { html } from './html';
import { layout, type PageContext } from './layout';

export const errorPage = (ctx: PageContext, title: string, message: string): string =>
  layout(ctx, title, html`<p>${message}</p><p><a href="${ctx.base}/activity">Back to the console</a></p>`);
