import { t } from '../i18n';
import { Page } from '../ui';

export function NotFound() {
  return (
    <Page title={t('notfound.title')}>
      <p data-testid="not-found">{t('notfound.text')}</p>
      <p>
        <a href="/">{t('notfound.home')}</a>
      </p>
    </Page>
  );
}
