// The desk's categories as the server stores them (the registration standard's 相談窓口
// categories, in its order) and the message that names each in the current language.
import type { MessageKey } from './index';

export const DESK_CATEGORIES: readonly (readonly [string, MessageKey])[] = [
  ['サービス内容', 'desk.cat.service'],
  ['価格', 'desk.cat.price'],
  ['申込方法', 'desk.cat.apply'],
  ['導入・設置の支援', 'desk.cat.setup'],
  ['セキュリティの相談', 'desk.cat.security'],
  ['その他', 'desk.cat.other'],
];
