import { mayUse } from "../app/route";
import { useSession } from "../app/session";
import { PageError } from "../components/forms";
import { useAsync } from "../components/hooks";
import { SETTINGS, SETTING_KEYS, effectiveOf, formatValue } from "./settingsModel";
import "./batch.css";

/** The settings in force for one account, each with where it comes from (account dialog). */
export function EffectiveSettingsPanel({ address }: { address: string }) {
  const { client, caller, desktop } = useSession();
  const allowed = mayUse(caller, "batch_settings", desktop !== null);
  const e = useAsync(allowed ? () => client.call("get_effective_settings", { address }) : null, [client, address]);
  if (!allowed) return null;
  return (
    <section className="panel effective-settings" aria-label="Effective settings">
      <h3>Effective settings</h3>
      {e.error && <PageError error={e.error} what="the effective settings" />}
      {e.data && (
        <>
          <table className="table compact">
            <tbody>
              {SETTING_KEYS.map((key) => {
                const { value, source } = effectiveOf(e.data!.values, key);
                return (
                  <tr key={key} data-key={key}>
                    <th scope="row">{SETTINGS[key].label}</th>
                    <td className="value">{formatValue(key, value)}</td>
                    <td>
                      <span className="source-chip" data-level={source.level}>
                        {source.label}
                      </span>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          <p className="muted small">
            Security questions: {e.data.security_questions_set ? "set" : "not set"} ·{" "}
            <a href={`#/batch_settings?account=${encodeURIComponent(address)}`}>Change this account's settings</a>
          </p>
        </>
      )}
    </section>
  );
}
