"""The Manager's one small stylesheet (served at /manager/manager.css): readable on a phone,
AA contrast, visible keyboard focus."""

CSS = b"""
:root { color-scheme: light; --ink: #1a1a1a; --link: #0b4f9c; --bad: #a4001d; --good: #145c2a; }
* { box-sizing: border-box; }
body { margin: 0; font: 1rem/1.5 system-ui, sans-serif; color: var(--ink); background: #fff; }
header { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center;
  padding: .5rem 1rem; background: #eef2f7; border-bottom: 1px solid #c5ced9; }
header nav { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; }
header form { display: inline; margin: 0; }
.brand { margin: 0; font-weight: 700; }
main { max-width: 60rem; margin: 0 auto; padding: 1rem; }
a { color: var(--link); }
:focus-visible { outline: 3px solid #f2a900; outline-offset: 2px; }
label { display: block; font-weight: 600; }
input[type=radio] + label, input[type=checkbox] + label { display: inline; font-weight: 400; margin-left: .3rem; }
input, select, button { font: inherit; padding: .45rem .6rem; max-width: 100%; }
input:not([type=radio]):not([type=checkbox]), select { width: 24rem; border: 1px solid #6b7785; border-radius: 4px; }
button { border: 1px solid #0b4f9c; background: #0b4f9c; color: #fff; border-radius: 4px; cursor: pointer; }
button.danger { background: var(--bad); border-color: var(--bad); }
header button { background: transparent; color: var(--link); border: none; text-decoration: underline; padding: 0; }
table { border-collapse: collapse; width: 100%; margin: 1rem 0; }
caption { text-align: left; font-weight: 700; }
th, td { border-bottom: 1px solid #c5ced9; padding: .4rem; text-align: left; vertical-align: top; }
td form p { margin: 0 0 .3rem; }
td code, p code { overflow-wrap: anywhere; }
.notice { border-left: 4px solid var(--good); background: #e8f5ec; padding: .5rem .8rem; }
.error { border-left: 4px solid var(--bad); background: #fbe9ec; padding: .5rem .8rem; }
.hint { margin-top: -.2rem; color: #3d4752; font-size: .95rem; }
.once { border: 2px solid var(--good); padding: .5rem 1rem; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
fieldset { border: 1px solid #c5ced9; }
@media (max-width: 40rem) {
  thead { display: none; }
  tr, td { display: block; border: none; }
  tr { border-bottom: 1px solid #c5ced9; padding: .4rem 0; }
  table, tbody { display: block; }
  td input:not([type=radio]):not([type=checkbox]), td select { width: 100%; }
}
"""
