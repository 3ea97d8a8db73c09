import type { PortalPhone } from "../bindings/PortalPhone";
import type { PortalApi } from "./portal";

/** The portal's "Mobile phone" section (`/api/portal/phone…`), on the signed-in user's own account. */
export const portalPhone = {
  get(api: PortalApi, csrf: string): Promise<PortalPhone> {
    return api.call("GET", "/api/portal/phone", undefined, csrf) as Promise<PortalPhone>;
  },
  sendCode(api: PortalApi, csrf: string, phone: string): Promise<PortalPhone> {
    return api.call("POST", "/api/portal/phone/code", { phone }, csrf) as Promise<PortalPhone>;
  },
  confirm(api: PortalApi, csrf: string, code: string): Promise<PortalPhone> {
    return api.call("POST", "/api/portal/phone/confirm", { code }, csrf) as Promise<PortalPhone>;
  },
  unbind(api: PortalApi, csrf: string): Promise<PortalPhone> {
    return api.call("DELETE", "/api/portal/phone", undefined, csrf) as Promise<PortalPhone>;
  },
};
