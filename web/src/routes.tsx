// Every screen and its address. Adding a screen is one row here, its messages in i18n/ja.ts and
// i18n/en.ts, and (if it needs one) a route of the API (docs/console.md).
import type { ComponentType } from 'preact';
import type { Role } from './api';
import type { MessageKey } from './i18n';
import { Account } from './screens/Account';
import { Audit } from './screens/Audit';
import { DeskList, DeskTicketScreen, FaqEditor, PortalDesk } from './screens/Desk';
import { Contracts, Reports, SelfCheck, Statistics } from './screens/Business';
import { Devices } from './screens/Devices';
import { Dispatches } from './screens/Dispatches';
import { IncidentScreen } from './screens/Incident';
import { InsuranceScreen, PolicyScreen } from './screens/Insurance';
import { Notifications } from './screens/Notifications';
import { Overview } from './screens/Overview';
import { Plans } from './screens/Plans';
import { Portal } from './screens/Portal';
import { PortalContract, PortalReports, PortalSubsidy } from './screens/PortalBusiness';
import { PortalSettings } from './screens/PortalSettings';
import { Queue } from './screens/Queue';
import { Suppressions, Threats } from './screens/Rules';
import { Users } from './screens/Users';

/** Whether `role` of `audience` may open the screen `r`. */
export function allowed(r: ScreenRoute, audience: 'provider' | 'customer', role: Role): boolean {
  return (r.audience === 'any' || r.audience === audience) && (!r.roles || r.roles.includes(role));
}

/** Who may open a screen: provider roles (the SOC), customer roles (the portal), or both. */
export type Audience = 'provider' | 'customer' | 'any';

export interface ScreenRoute {
  path: string; // "/incidents/:id": ":name" segments become props
  screen: ComponentType<Record<string, string>>;
  audience: Audience;
  nav?: MessageKey; // shown in the menu under this label
  roles?: Role[]; // only these roles (of the audience) may open it; every role when absent
}

export const routes: ScreenRoute[] = [
  { path: '/overview', screen: Overview, audience: 'provider', nav: 'nav.overview' },
  { path: '/incidents', screen: Queue, audience: 'provider', nav: 'nav.incidents' },
  { path: '/incidents/:id', screen: IncidentScreen as ComponentType<Record<string, string>>, audience: 'any' },
  { path: '/desk', screen: DeskList, audience: 'provider', nav: 'nav.desk' },
  { path: '/desk/faq', screen: FaqEditor, audience: 'provider', nav: 'nav.faq', roles: ['provider_admin', 'desk'] },
  { path: '/desk/:id', screen: DeskTicketScreen as ComponentType<Record<string, string>>, audience: 'any' },
  { path: '/devices', screen: Devices, audience: 'provider', nav: 'nav.devices' },
  { path: '/suppressions', screen: Suppressions, audience: 'provider', nav: 'nav.suppressions' },
  { path: '/threats', screen: Threats, audience: 'provider', nav: 'nav.threats' },
  { path: '/notifications', screen: Notifications, audience: 'provider', nav: 'nav.notifications' },
  { path: '/users', screen: Users, audience: 'provider', nav: 'nav.users', roles: ['provider_admin', 'analyst'] },
  { path: '/insurance', screen: InsuranceScreen, audience: 'provider', nav: 'nav.insurance' },
  { path: '/contracts/:id/policy', screen: PolicyScreen as ComponentType<Record<string, string>>, audience: 'provider' },
  { path: '/plans', screen: Plans, audience: 'provider', nav: 'nav.plans' },
  { path: '/contracts', screen: Contracts, audience: 'provider', nav: 'nav.contracts' },
  { path: '/reports', screen: Reports, audience: 'provider', nav: 'nav.reports' },
  { path: '/statistics', screen: Statistics, audience: 'provider', nav: 'nav.stats', roles: ['provider_admin'] },
  { path: '/self-check', screen: SelfCheck, audience: 'provider', nav: 'nav.selfcheck', roles: ['provider_admin'] },
  { path: '/dispatches', screen: Dispatches, audience: 'any', nav: 'nav.dispatches' },
  { path: '/portal', screen: Portal, audience: 'customer', nav: 'nav.portal' },
  { path: '/portal/desk', screen: PortalDesk, audience: 'customer', nav: 'nav.pdesk' },
  { path: '/portal/contract', screen: PortalContract, audience: 'customer', nav: 'nav.pcontract' },
  { path: '/portal/reports', screen: PortalReports, audience: 'customer', nav: 'nav.preports' },
  { path: '/portal/subsidy', screen: PortalSubsidy, audience: 'customer', nav: 'nav.psubsidy' },
  { path: '/portal/settings', screen: PortalSettings, audience: 'customer', nav: 'nav.settings', roles: ['customer_admin'] },
  { path: '/audit', screen: Audit, audience: 'any', nav: 'nav.audit', roles: ['provider_admin', 'analyst', 'customer_admin'] },
  { path: '/account', screen: Account, audience: 'any', nav: 'nav.account' },
];

/** Where "/" leads each audience. */
export const HOME = { provider: '/overview', customer: '/portal' } as const;
