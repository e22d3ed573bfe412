"""English and Swedish labels: one dict per language, keyed by an English identifier.

The language is the `lang` cookie (set by the switch in the layout), else the best of the
request's Accept-Language, else English. A key missing from a catalog shows the English one.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request

LANGUAGES = ("en", "sv")
DEFAULT_LANGUAGE = "en"
LANGUAGE_COOKIE = "lang"

EN: dict[str, str] = {
    "portal": "rcsgate portal",
    "skip": "Skip to content",
    "nav": "Main",
    "language": "Language",
    "accounts": "Accounts",
    "permissions": "Permissions",
    "api_keys": "API keys",
    "add_new_key": "Add new key",
    "add": "Add",
    "log_in": "Log in",
    "log_out": "Log out",
    "sign_up": "Sign up",
    "email": "E-mail",
    "password": "Password",
    "password_hint": "At least 10 characters.",
    "account_name": "Account name",
    "no_account": "No account yet?",
    "have_account": "Already signed up?",
    "bad_login": "Wrong e-mail or password.",
    "throttled": "Too many failed log-ins. Wait 15 minutes and try again.",
    "logged_in_as": "Logged in as",
    "csrf_failed": "The form had expired or did not come from this site. Go back, reload, and "
    "send it again.",
    "forbidden": "Not allowed",
    "not_found": "Not found",
    "account": "Account",
    "account_id": "Account id",
    "balance": "Balance",
    "rate_limit": "Rate limit",
    "per_second": "requests per second",
    "users": "Users",
    "add_user": "Add user",
    "created": "Created",
    "name": "Name",
    "prefix": "Prefix",
    "ip_restrictions": "IP restrictions",
    "ip_hint": "Optional. Addresses or CIDR ranges, one per line; empty allows any address.",
    "any_address": "any address",
    "last_used": "Last used",
    "never": "never",
    "status": "Status",
    "active": "active",
    "revoked": "revoked",
    "revoke": "Revoke",
    "revoke_confirm": "Revoke the key {name}? Requests with it are refused at once.",
    "cancel": "Cancel",
    "no_keys": "No API keys yet.",
    "key_created": "Key created",
    "token_once": "Copy the key now: it is shown this once and cannot be shown again.",
    "token": "API key",
    "copy": "Copy",
    "copied": "Copied",
    "back_to_keys": "Back to API keys",
    "permissions_intro": "Who and what may use this account.",
    "form_errors": "The form has errors:",
    "user_added": "User added.",
    "actions": "Actions",
    "brands": "Brands and agents",
    "brand": "Brand",
    "add_brand": "Add brand",
    "no_brands": "No brands yet.",
    "display_name": "Display name",
    "brand_name": "Brand name",
    "brand_name_hint": "Lower case, digits and dashes, used in API requests; "
    "empty: made from the display name.",
    "agent_name_hint": "Lower case, digits and dashes; empty: made from the display name.",
    "website": "Website",
    "logo_url": "Logo URL (https)",
    "agents": "Agents",
    "agent": "Agent",
    "add_agent": "Add agent",
    "no_agents": "No agents yet.",
    "agent_name": "Agent name",
    "description": "Description",
    "hero_url": "Banner image URL (https)",
    "color": "Colour (#RRGGBB)",
    "phone": "Phone number",
    "privacy_url": "Privacy policy URL",
    "terms_url": "Terms of service URL",
    "use_case": "Use case",
    "sms_sender": "SMS sender",
    "delivery_report_url": "Delivery report URL (webhook)",
    "launch": "Request launch",
    "launch_status": "Launch status per operator",
    "operator": "Operator",
    "not_requested": "Launch not requested yet.",
    "edit_agent": "Edit agent",
    "save": "Save",
    "saved": "Saved.",
    "optional": "optional",
    "Draft": "Draft",
    "Submitted": "Submitted",
    "Launched": "Launched",
    "Rejected": "Rejected",
    "conversations": "Conversations",
    "conversation": "Conversation",
    "number": "Phone number",
    "search": "Search",
    "messages": "Messages",
    "message": "Message",
    "last_activity": "Last activity",
    "none_found": "Nothing found.",
    "started": "started",
    "thread": "Thread",
    "Outbound": "Sent",
    "Inbound": "Received",
    "bundles": "Bundles",
    "bundle": "Bundle",
    "reference": "Reference",
    "recipients": "Recipients",
    "finished": "Finished",
    "cost": "Cost",
    "progress": "Progress",
    "content": "Content",
    "since": "From date",
    "until": "To date",
    "direction": "Direction",
    "type": "Type",
    "channel": "Channel",
    "journey": "Journey",
    "usage": "Usage",
    "last_30_days": "Last 30 days",
    "messages_per_day": "Messages per day",
    "cost_per_day": "Cost per day",
    "as_table": "The numbers as a table",
    "day": "Day",
}

SV: dict[str, str] = {
    "portal": "rcsgate-portalen",
    "skip": "Hoppa till innehållet",
    "nav": "Huvudmeny",
    "language": "Språk",
    "accounts": "Konton",
    "permissions": "Behörigheter",
    "api_keys": "API-nycklar",
    "add_new_key": "Lägg till ny nyckel",
    "add": "Lägg till",
    "log_in": "Logga in",
    "log_out": "Logga ut",
    "sign_up": "Skapa konto",
    "email": "E-post",
    "password": "Lösenord",
    "password_hint": "Minst 10 tecken.",
    "account_name": "Kontonamn",
    "no_account": "Inget konto än?",
    "have_account": "Har du redan ett konto?",
    "bad_login": "Fel e-postadress eller lösenord.",
    "throttled": "För många misslyckade inloggningar. Vänta 15 minuter och försök igen.",
    "logged_in_as": "Inloggad som",
    "csrf_failed": "Formuläret hade gått ut eller kom inte från den här webbplatsen. Gå tillbaka, "
    "ladda om och skicka det igen.",
    "forbidden": "Inte tillåtet",
    "not_found": "Hittades inte",
    "account": "Konto",
    "account_id": "Konto-id",
    "balance": "Saldo",
    "rate_limit": "Anropsgräns",
    "per_second": "anrop per sekund",
    "users": "Användare",
    "add_user": "Lägg till användare",
    "created": "Skapad",
    "name": "Namn",
    "prefix": "Prefix",
    "ip_restrictions": "IP-begränsningar",
    "ip_hint": "Valfritt. Adresser eller CIDR-intervall, en per rad; tomt tillåter alla adresser.",
    "any_address": "alla adresser",
    "last_used": "Senast använd",
    "never": "aldrig",
    "status": "Status",
    "active": "aktiv",
    "revoked": "återkallad",
    "revoke": "Återkalla",
    "revoke_confirm": "Återkalla nyckeln {name}? Anrop med den nekas direkt.",
    "cancel": "Avbryt",
    "no_keys": "Inga API-nycklar än.",
    "key_created": "Nyckeln är skapad",
    "token_once": "Kopiera nyckeln nu: den visas bara den här gången.",
    "token": "API-nyckel",
    "copy": "Kopiera",
    "copied": "Kopierad",
    "back_to_keys": "Tillbaka till API-nycklar",
    "permissions_intro": "Vem och vad som får använda kontot.",
    "form_errors": "Formuläret har fel:",
    "user_added": "Användaren är tillagd.",
    "actions": "Åtgärder",
    "brands": "Varumärken och agenter",
    "brand": "Varumärke",
    "add_brand": "Lägg till varumärke",
    "no_brands": "Inga varumärken än.",
    "display_name": "Visningsnamn",
    "brand_name": "Varumärkesnamn",
    "brand_name_hint": "Små bokstäver, siffror och bindestreck, används i API-anrop; "
    "tomt: skapas från visningsnamnet.",
    "agent_name_hint": "Små bokstäver, siffror och bindestreck; tomt: skapas från visningsnamnet.",
    "website": "Webbplats",
    "logo_url": "Logotyp-URL (https)",
    "agents": "Agenter",
    "agent": "Agent",
    "add_agent": "Lägg till agent",
    "no_agents": "Inga agenter än.",
    "agent_name": "Agentnamn",
    "description": "Beskrivning",
    "hero_url": "Bannerbild-URL (https)",
    "color": "Färg (#RRGGBB)",
    "phone": "Telefonnummer",
    "privacy_url": "URL till integritetspolicy",
    "terms_url": "URL till användarvillkor",
    "use_case": "Användningsområde",
    "sms_sender": "SMS-avsändare",
    "delivery_report_url": "URL för leveransrapporter (webhook)",
    "launch": "Begär lansering",
    "launch_status": "Lanseringsstatus per operatör",
    "operator": "Operatör",
    "not_requested": "Lansering inte begärd än.",
    "edit_agent": "Redigera agent",
    "save": "Spara",
    "saved": "Sparat.",
    "optional": "valfritt",
    "Draft": "Utkast",
    "Submitted": "Inskickad",
    "Launched": "Lanserad",
    "Rejected": "Avvisad",
    "conversations": "Konversationer",
    "conversation": "Konversation",
    "number": "Telefonnummer",
    "search": "Sök",
    "messages": "Meddelanden",
    "message": "Meddelande",
    "last_activity": "Senaste aktivitet",
    "none_found": "Inget hittades.",
    "started": "startad",
    "thread": "Tråd",
    "Outbound": "Skickat",
    "Inbound": "Mottaget",
    "bundles": "Utskick",
    "bundle": "Utskick",
    "reference": "Referens",
    "recipients": "Mottagare",
    "finished": "Klart",
    "cost": "Kostnad",
    "progress": "Förlopp",
    "content": "Innehåll",
    "since": "Från datum",
    "until": "Till datum",
    "direction": "Riktning",
    "type": "Typ",
    "channel": "Kanal",
    "journey": "Händelseförlopp",
    "usage": "Förbrukning",
    "last_30_days": "Senaste 30 dagarna",
    "messages_per_day": "Meddelanden per dag",
    "cost_per_day": "Kostnad per dag",
    "as_table": "Siffrorna som tabell",
    "day": "Dag",
}

CATALOGS = {"en": EN, "sv": SV}


def choose_language(request: Request) -> str:
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    return _from_accept_language(request.headers.get("accept-language", ""))


def _from_accept_language(header: str) -> str:
    ranked: list[tuple[float, str]] = []
    for part in header.split(","):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        ranked.append((quality, tag.strip().lower().split("-")[0]))
    for _quality, language in sorted(ranked, key=lambda item: -item[0]):
        if language in LANGUAGES:
            return language
    return DEFAULT_LANGUAGE


def translator(language: str) -> Callable[..., str]:
    catalog = CATALOGS.get(language, EN)

    def translate(key: str, **values: object) -> str:
        text = catalog.get(key) or EN.get(key, key)
        return text.format(**values) if values else text

    return translate
