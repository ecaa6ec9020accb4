"""A Tracery-style grammar engine and the dialog baseline's grammars (barks and trees, no model).

Engine (:class:`Grammar`): rules are lists of alternatives; ``#symbol#`` expands a symbol,
``#symbol.capitalize.a#`` applies modifiers (``capitalize``, ``capitalizeAll``, ``a``, ``s``,
``ed``, ``lower``, ``uncap``, ``inQuotes``, ``comma``), ``[name:#symbol#]`` stores an expansion as a new
rule for the rest of the text (``[name:POP]`` drops it). Choices come from the caller's
``numpy.random.Generator`` only, so the same seed gives the same text. (The PyPI ``tracery``
port, last released in 2017, draws from Python's global ``random`` and cannot take a seeded
generator; this is the ~80 lines we need.)

Grammars: a persona's *voice* is read from its traits, speech style and mood (:func:`voice_of`:
gruff, cheerful, formal, sly, nervous or plain); its role picks the places and things it talks
about (:data:`ROLE_WORDS`); its mood adds asides; its facts feed idle gossip and what a tree
reveals. Secrets are never put into any grammar, so the baseline cannot leak them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from .persona import Persona
from .trees import (BarkSet, Choice, Condition, DialogTree, Effect, Node, Speaker, Variable, check_tree)

MAX_EXPANSION_DEPTH = 24


# -- the engine ---------------------------------------------------------------------------------

class GrammarError(ValueError):
    pass


def _uncap(text: str) -> str:
    """Lower-case the first letter to continue a sentence, unless it starts a name ("Captain Aldric")."""
    words = text.split(" ", 2)
    if not text or words[0] == "I" or (len(words) > 1 and words[1][:1].isupper()):
        return text
    return text[:1].lower() + text[1:]


def _a(word: str) -> str:
    if not word:
        return word
    first = word.lstrip("'\"").lower()
    vowel = first[:1] in "aeiou" and not first.startswith(("uni", "use", "one", "eu"))
    return ("an " if vowel or first.startswith(("hour", "honest")) else "a ") + word


def _s(word: str) -> str:
    if re.search(r"(s|x|z|ch|sh)$", word):
        return word + "es"
    if re.search(r"[^aeiou]y$", word):
        return word[:-1] + "ies"
    return word + "s"


def _ed(word: str) -> str:
    head, _, rest = word.partition(" ")
    if head.endswith("e"):
        head += "d"
    elif re.search(r"[^aeiou]y$", head):
        head = head[:-1] + "ied"
    else:
        head += "ed"
    return head + (" " + rest if rest else "")


MODIFIERS = {
    "capitalize": lambda s: s[:1].upper() + s[1:],
    "capitalizeAll": lambda s: " ".join(w[:1].upper() + w[1:] for w in s.split(" ")),
    "lower": str.lower,
    "uncap": lambda s: _uncap(s),
    "a": _a,
    "s": _s,
    "ed": _ed,
    "inQuotes": lambda s: f"\u201c{s}\u201d",
    "comma": lambda s: s if s[-1:] in ",.!?" else s + ",",
}

_TOKEN = re.compile(r"#([^#\[\]]*)#|\[([A-Za-z_][A-Za-z0-9_]*):([^\[\]]*)\]")


class Grammar:
    """Expand Tracery text with a seeded generator; rules are ``{symbol: [alternative, ...]}``."""

    def __init__(self, rules: Mapping[str, Sequence[str]]):
        self.rules: dict[str, list[list[str]]] = {k: [list(v)] for k, v in rules.items()}

    def expand(self, text: str, rng: np.random.Generator) -> str:
        return self._expand(text, rng, 0)

    def symbol(self, name: str, rng: np.random.Generator) -> str:
        return self._expand(f"#{name}#", rng, 0)

    def _pick(self, name: str, rng: np.random.Generator, depth: int) -> str:
        stack = self.rules.get(name)
        if not stack or not stack[-1]:
            raise GrammarError(f"grammar has no rule {name!r}")
        options = stack[-1]
        return self._expand(options[int(rng.integers(len(options)))], rng, depth + 1)

    def _expand(self, text: str, rng: np.random.Generator, depth: int) -> str:
        if depth > MAX_EXPANSION_DEPTH:
            raise GrammarError(f"expansion deeper than {MAX_EXPANSION_DEPTH}: a rule refers to itself")
        out: list[str] = []
        pos = 0
        for m in _TOKEN.finditer(text):
            out.append(text[pos:m.start()])
            pos = m.end()
            if m.group(1) is not None:
                name, *mods = m.group(1).split(".")
                value = self._pick(name, rng, depth)
                for mod in mods:
                    if mod not in MODIFIERS:
                        raise GrammarError(f"unknown modifier {mod!r} in {m.group(0)!r}")
                    value = MODIFIERS[mod](value)
                out.append(value)
            else:
                key, body = m.group(2), m.group(3)
                if body == "POP":
                    if self.rules.get(key):
                        self.rules[key].pop()
                else:
                    self.rules.setdefault(key, []).append([self._expand(body, rng, depth + 1)])
        out.append(text[pos:])
        return "".join(out)


def tidy(text: str) -> str:
    """One line, single spaces, no space before punctuation, a capital first letter."""
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"\s+([,.!?;:])", r"\1", text)
    text = re.sub(r"([!?])\.|(?<!\.)\.\.(?!\.)", lambda m: m.group(1) or ".", text)
    return text[:1].upper() + text[1:]


# -- voices -------------------------------------------------------------------------------------

VOICE_WORDS: dict[str, set[str]] = {
    "gruff": {"gruff", "terse", "clipped", "blunt", "curt", "grim", "stern", "surly", "orders", "rough"},
    "cheerful": {"cheerful", "warm", "chatty", "kind", "friendly", "talkative", "jolly", "dear", "happy"},
    "formal": {"formal", "measured", "polite", "proud", "honest", "dignified", "plain", "courteous", "stubborn"},
    "sly": {"sly", "greedy", "charming", "flattering", "cunning", "bargaining", "smooth", "scheming"},
    "nervous": {"nervous", "timid", "anxious", "shy", "afraid", "stammering", "fearful", "jumpy"},
}
VOICES = tuple(VOICE_WORDS) + ("plain",)

ROLE_WORDS: dict[str, dict[str, list[str]]] = {
    "guard": {"place": ["the gate", "my post", "the wall", "the watch"], "thing": ["my spear", "the night watch", "the gate"],
              "boss": ["the captain", "the sergeant"]},
    "inn": {"place": ["the inn", "the kitchen", "the common room", "the bar"], "thing": ["the stew", "the ale", "the rooms"],
            "boss": ["my guests", "the regulars"]},
    "smith": {"place": ["the forge", "the smithy", "the anvil"], "thing": ["this blade", "the bellows", "good steel"],
              "boss": ["my customers", "the guild"]},
    "merchant": {"place": ["my stall", "the market", "the caravan"], "thing": ["my wares", "my purse", "the goods"],
                 "boss": ["my buyers", "my partners"]},
    "other": {"place": ["this place", "my corner", "the yard"], "thing": ["my work", "my things", "my trade"],
              "boss": ["the others", "my people"]},
}
ROLE_KEYS = {"guard": ("guard", "guardsman", "watchman", "soldier", "sentry", "captain"),
             "inn": ("innkeeper", "inn", "tavern", "barkeep", "barmaid", "cook", "host"),
             "smith": ("blacksmith", "smith", "armourer", "armorer", "smithy"),
             "merchant": ("merchant", "trader", "peddler", "shopkeeper", "vendor")}

MOOD_ASIDES: dict[str, list[str]] = {
    "wary": ["Eyes open.", "Something's off today.", "I don't like this."],
    "happy": ["What a day!", "Lovely, just lovely.", "Can't complain!"],
    "tired": ["*yawns*", "Long day.", "My back aches."],
    "angry": ["Bah!", "Don't test me.", "Of all the days..."],
    "curious": ["Interesting...", "Now that's something.", "Hm, curious."],
    "afraid": ["Gods preserve us.", "I heard something...", "Please, not again."],
    "sad": ["*sighs*", "Such is life.", "Not a good week."],
    "neutral": ["Hm.", "Right.", "Well."],
}

URGENT = ("spotted_player", "low_health", "ally_down")     # no mood asides in a fight
SITUATIONS = ("spotted_player", "lost_player", "searching", "low_health", "ally_down", "victory", "idle",
              "greeting", "farewell")

# Per-voice rules. Shared symbols every voice may use: #name#, #role#, #place#, #thing#, #boss#,
# #fact#, #trait#, #aside#, #you#.
VOICE_RULES: dict[str, dict[str, list[str]]] = {
    "gruff": {
        "you": ["you", "stranger", "you there", "outsider"],
        "oath": ["Damn it", "Blast", "Hah", "Oi"],
        "spotted_player": ["#oath#! #you.capitalize#! Stop!", "Halt!", "Intruder! Over here!", "There. Got you.",
                           "Don't move, #you#.", "#oath#. Trouble at #place#."],
        "lost_player": ["Lost 'em.", "Gone. #oath#.", "Slippery rat.", "Tch. Back to #place#.", "Where'd you go?"],
        "searching": ["Come out.", "I know you're here.", "Check the corners.", "Show yourself, #you#."],
        "low_health": ["Not... done yet.", "Just a scratch.", "#oath#! I'm bleeding.", "Need a medic. Now."],
        "ally_down": ["Man down!", "They got one of ours!", "#oath#! Cover me!", "You'll pay for that."],
        "victory": ["Done.", "Stay down.", "That's that.", "Back to #place#."],
        "idle": ["Quiet shift.", "#fact#", "Heard it myself: #fact.uncap#", "Another day at #place#.",
                 "#aside#"],
        "greeting": ["What.", "State your business.", "Make it quick.", "You again."],
        "farewell": ["Move along.", "Go.", "Keep out of trouble.", "Don't come back without reason."],
        # trees
        "open": ["Halt. State your business.", "What do you want?", "Make it quick, #you#."],
        "hook": ["#topic.capitalize#? Not your concern.", "You asking about #topic#? Why.",
                 "#topic.capitalize#. Hm. What of it?"],
        "deflect": ["I said enough.", "Don't push.", "Orders are orders.", "Not here. Not now."],
        "warm": ["Fine. You're not the worst.", "Hm. You've a straight face.", "All right. Listen close."],
        "bristle": ["Try that again and you'll regret it.", "Careful, #you#.", "Hand off your blade."],
        "reveal": ["Fine. #fact#", "Keep it quiet: #fact.uncap#", "Here's what I know. #fact#"],
        "refuse": ["That's all you get.", "No more questions.", "Some things stay behind #place#."],
        "angry_end": ["That's it. Out!", "Get away from #place# before I run you through."],
        "farewell_line": ["Move along.", "Go on. Keep your nose clean.", "Don't loiter."],
        "confide": ["You've earned this much. #fact#", "Between us? #fact#"],
    },
    "cheerful": {
        "you": ["dear", "love", "friend", "sweetheart"],
        "oath": ["Oh my", "Goodness", "Oh dear", "Well now"],
        "spotted_player": ["#oath#! Hello there, #you#!", "Oh! You gave me a fright, #you#!",
                           "Someone's sneaking about! Who's that?", "Ooh, I see you, #you#!"],
        "lost_player": ["Now where did they go?", "#oath#, gone like the last slice of pie!",
                        "Must've been the wind. Back to #place#!", "Oh, never mind then!"],
        "searching": ["Yoo-hoo? Anyone there?", "Come out, #you#, I won't bite!", "Is someone hiding in #place#?"],
        "low_health": ["Ooh, that smarts!", "#oath#, I need a sit down!", "Somebody fetch a healer, please!"],
        "ally_down": ["Oh no, no, no! Are they breathing?", "#oath#! Somebody help them!",
                      "Poor thing! Hold on, #you#!"],
        "victory": ["Ha! That showed them!", "Phew! Now, who wants #thing#?", "Well, that's sorted!"],
        "idle": ["La la la...", "Did you hear? #fact#", "Oh, and #fact.uncap#", "#aside#",
                 "Busy, busy day at #place#!"],
        "greeting": ["Welcome, welcome, #you#!", "Hello, #you#! Come in, come in!", "Oh, a new face! Hello!"],
        "farewell": ["Take care, #you#!", "Come back soon!", "Safe roads, #you#!"],
        "open": ["Welcome to #place#, #you#! What can I get you?", "Hello, #you#! Sit, sit!",
                 "Oh, hello! Come in out of the cold!"],
        "hook": ["#topic.capitalize#? Oh, everyone's talking about it!", "Ooh, #topic#! Terrible business.",
                 "#topic.capitalize#? Pull up a chair, #you#."],
        "deflect": ["Oh, I really shouldn't gossip...", "Now, now, let's not spoil the mood.",
                    "I'd love to say, #you#, but..."],
        "warm": ["Aren't you a sweetheart!", "Oh, you're kind. All right.", "You've an honest face, #you#."],
        "bristle": ["There's no need for that tone!", "Manners, #you#! This is a respectable place.",
                    "Oh! Well, I never!"],
        "reveal": ["Well, since you ask... #fact#", "Between you and me, #you#: #fact.uncap#",
                   "Oh, I heard it myself! #fact#"],
        "refuse": ["And that's all I'll say about it, #you#!", "No, no, my lips are sealed.",
                   "Some things a good host keeps to herself."],
        "angry_end": ["Out! Out of #place#, and don't come back!", "I'll not be spoken to like that. Goodbye!"],
        "farewell_line": ["Take care, #you#!", "Come back soon, you hear?", "Mind the step on your way out!"],
        "confide": ["For you, #you#? #fact#", "You're practically family now. #fact#"],
    },
    "formal": {
        "you": ["traveller", "sir", "madam", "stranger"],
        "oath": ["By the gods", "I say", "Indeed", "Mark me"],
        "spotted_player": ["You there. Identify yourself.", "#oath#, who goes there?", "I see you, #you#. Step forward.",
                           "An intruder near #place#. Stand where you are."],
        "lost_player": ["They have withdrawn. I shall return to #place#.", "Gone. A pity.",
                        "I seem to have lost sight of them."],
        "searching": ["I know you are near, #you#.", "Reveal yourself, and this ends civilly.",
                      "Let us be reasonable. Come out."],
        "low_health": ["I am wounded, though not defeated.", "#oath#, this is grave.", "I must see to this injury."],
        "ally_down": ["A comrade has fallen. Attend to them!", "#oath#! This shall be answered.",
                      "They have struck down one of ours."],
        "victory": ["It is finished.", "Justice is served.", "Order is restored. Back to #thing#."],
        "idle": ["It is said that #fact.uncap#", "#fact#", "#aside#", "The day proceeds, as days do.",
                 "#thing.capitalize# will not tend itself."],
        "greeting": ["Good day, #you#.", "Well met, #you#.", "Welcome. How may I be of service?"],
        "farewell": ["Good day to you.", "Farewell, #you#.", "Go well."],
        "open": ["Good day, #you#. How may I help you?", "Well met. You have business at #place#?",
                 "Welcome, #you#. Speak plainly and I shall answer plainly."],
        "hook": ["#topic.capitalize#. A serious matter.", "You ask about #topic#. I will hear you out.",
                 "#topic.capitalize#? I have heard some account of it."],
        "deflect": ["I would rather not speculate.", "That is not mine to say.", "I keep to facts, #you#."],
        "warm": ["You are courteous. I appreciate that.", "Very well. You have earned an answer.",
                 "I see you mean no harm."],
        "bristle": ["I will not be threatened at #place#.", "Mind your manners, #you#.",
                    "That is beneath you, and beneath me."],
        "reveal": ["Very well. #fact#", "I can tell you this much: #fact.uncap#", "Here is what I know. #fact#"],
        "refuse": ["I have said all I will say.", "The rest is not for me to share.",
                   "I gave my word on certain matters."],
        "angry_end": ["This conversation is over. Leave.", "I bid you leave #place# at once."],
        "farewell_line": ["Farewell, #you#.", "Good day to you.", "Go well, and mind the road."],
        "confide": ["Since you have been fair with me: #fact.uncap#", "In confidence, then. #fact#"],
    },
    "sly": {
        "you": ["darling", "my friend", "sweet customer", "clever one"],
        "oath": ["Well, well", "Ah-ha", "Oh ho", "My, my"],
        "spotted_player": ["#oath#, what have we here?", "I see you, #you#. Shopping, or sneaking?",
                           "A visitor! How profitable.", "Ah, #you#. Do come closer."],
        "lost_player": ["Slipped away? Clever.", "Gone, and without paying.", "#oath#. Another time, #you#."],
        "searching": ["Come out, #you#, I have a deal for you.", "Nobody hides from a bargain forever.",
                      "I can smell coin... and fear."],
        "low_health": ["This... will cost someone dearly.", "Not the face! Not the face!",
                       "A healer! I'll pay double!"],
        "ally_down": ["Well, that's a partner lost. Pity.", "#oath#, bad for business.",
                      "Someone will pay for that. Handsomely."],
        "victory": ["And that's how a deal is closed.", "Profit, as always.", "#oath#. Now, where was I?"],
        "idle": ["Buy low, sell high...", "Word is, #fact.uncap#", "#fact# Worth knowing, no?", "#aside#",
                 "Fine goods at #place#, fine prices!"],
        "greeting": ["Ah, #you#! Looking for something special?", "#oath#, a customer!",
                     "Welcome, #you#. Everything's for sale."],
        "farewell": ["Come back with a fuller purse.", "Until next time, #you#.", "Pleasure doing business."],
        "open": ["Ah, #you#! Looking to buy, or to talk?", "#oath#, welcome to #place#. Everything has a price.",
                 "A new face! What can #name# do for you?"],
        "hook": ["#topic.capitalize#? Information is a ware too, #you#.",
                 "#topic.capitalize#... now that's a question worth coin.", "Ah, #topic#. Everyone wants to know."],
        "deflect": ["Talk is cheap; answers are not.", "Perhaps. Perhaps not.", "What's it worth to you?"],
        "warm": ["Flattery! You know the way to my heart.", "I like you, #you#. Truly.",
                 "Oh, you're good. Fine, a little something."],
        "bristle": ["Threats are bad for business, #you#.", "Careful. I have friends.",
                    "That tone will cost you extra."],
        "reveal": ["Since you're such a good customer... #fact#", "A free sample: #fact.uncap#",
                   "You didn't hear it from me. #fact#"],
        "refuse": ["That, #you#, is not for sale.", "Some secrets are worth more kept.",
                   "Ask me again when you're rich."],
        "angry_end": ["Our business is concluded. Go.", "Leave, before my friends ask you to."],
        "farewell_line": ["Come back with a fuller purse.", "Until next time, #you#.", "Pleasure doing business."],
        "confide": ["For a friend, on the house: #fact.uncap#", "Only because I like you: #fact.uncap#"],
    },
    "nervous": {
        "you": ["s-sir", "um, stranger", "friend?", "you"],
        "oath": ["Oh no", "Gods", "Ah", "Eek"],
        "spotted_player": ["W-who's there?", "#oath#! S-stay back!", "I-I see you! I think.", "Help! Someone's here!"],
        "lost_player": ["Th-they're gone? Good. Good.", "M-maybe I imagined it.", "Phew... back to #place#."],
        "searching": ["H-hello? Please come out...", "I know someone's there... don't you?", "Is... is anyone there?"],
        "low_health": ["I'm hurt! I'm really hurt!", "#oath#, #oath.lower#, so much blood!", "I don't want to die!"],
        "ally_down": ["They're down! What do I do?", "#oath#! Get up, please get up!", "Run! We have to run!"],
        "victory": ["W-we did it? We did it!", "Is it over? Really over?", "I... I can't stop shaking."],
        "idle": ["Did you hear that?", "Um... #fact.uncap#", "#aside#", "I hate working at #place#.",
                 "They say #fact.uncap# S-scary."],
        "greeting": ["Oh! H-hello.", "Y-yes? Can I help?", "Sorry, you startled me."],
        "farewell": ["B-bye.", "Be careful out there!", "Please don't tell anyone I talked to you."],
        "open": ["Oh! H-hello. Can I... help you?", "Y-yes? What is it?", "Sorry, sorry. You startled me."],
        "hook": ["#topic.capitalize#? I d-don't know anything!", "W-why ask me about #topic#?",
                 "#topic.capitalize#... please keep your voice down."],
        "deflect": ["I c-can't say.", "I'll get in trouble!", "Please, don't ask me that."],
        "warm": ["Y-you're nice. Not like the others.", "Okay... okay, I trust you.", "Thank you for being kind."],
        "bristle": ["D-don't hurt me!", "Please! I'll scream!", "Stay back, #you#!"],
        "reveal": ["O-okay. #fact#", "I heard... #fact.uncap#", "Don't tell them I said it: #fact.uncap#"],
        "refuse": ["N-no more. Please.", "I really can't say more.", "They'd know it was me."],
        "angry_end": ["G-guards! Guards!", "Leave me alone!"],
        "farewell_line": ["B-be careful.", "Please go.", "Bye... and, um, good luck."],
        "confide": ["You've been kind, so... #fact#", "I'll tell you, but only you: #fact.uncap#"],
    },
    "plain": {
        "you": ["you", "friend", "traveller"],
        "oath": ["Hey", "Huh", "Well"],
        "spotted_player": ["Hey! You there!", "#oath#, who's that?", "I see you!", "Stop right there."],
        "lost_player": ["Where did they go?", "Lost them.", "Gone. Back to #place#."],
        "searching": ["Anyone there?", "Come out.", "I'll find you."],
        "low_health": ["I'm hurt!", "I need help!", "Not good, not good."],
        "ally_down": ["They got hit!", "Someone's down!", "#oath#! Help them!"],
        "victory": ["That's done.", "We won.", "Back to work."],
        "idle": ["#fact#", "#aside#", "Another day at #place#.", "Heard that #fact.uncap#"],
        "greeting": ["Hello.", "Hi there, #you#.", "Good to see you."],
        "farewell": ["Bye.", "See you, #you#.", "Take care."],
        "open": ["Hello, #you#. What is it?", "Yes?", "Can I help you?"],
        "hook": ["#topic.capitalize#? What about it?", "You want to know about #topic#?"],
        "deflect": ["I'd rather not say.", "Ask someone else.", "Not sure I should."],
        "warm": ["All right, you seem fine.", "Thanks. Okay."],
        "bristle": ["Hey, no need for that.", "Back off."],
        "reveal": ["Well, #fact.uncap#", "Here's what I know: #fact.uncap#", "#fact#"],
        "refuse": ["That's all I know.", "Nothing more to say."],
        "angry_end": ["Get out.", "We're done here."],
        "farewell_line": ["Bye.", "See you.", "Take care."],
        "confide": ["Since you asked nicely: #fact.uncap#", "Fine: #fact.uncap#"],
    },
}

# What the player says (one voice for every NPC: the player's choices).
PLAYER_RULES: dict[str, list[str]] = {
    "ask": ["What do you know about #topic#?", "Tell me about #topic#.", "I'm looking into #topic#.",
            "What happened with #topic#?"],
    "press": ["Go on.", "There's more, isn't there?", "And then?", "Who else knows?", "Why would that be?"],
    "charm": ["You seem like someone who notices things.", "I'd be grateful for your help.",
              "I won't forget a favour.", "You're the only one I can ask."],
    "force": ["Tell me, or else.", "Don't make me ask twice.", "I can make this difficult for you."],
    "bribe": ["Would a few coins help your memory?", "I can pay for the truth.", "Name your price."],
    "friend": ["We're friends, aren't we? Tell me.", "After all I've done for you?",
               "You trust me. What aren't you saying?"],
    "followup": ["Any more news about #topic#?", "Back again. What else about #topic#?",
                 "About #topic#, anything new?"],
    "leave": ["Never mind. Goodbye.", "I'll be going.", "Thanks. Farewell.", "That's all for now."],
}


def voice_of(p: Persona) -> str:
    """The persona's voice: the one whose words its traits, speech style and mood use most."""
    words = set(re.findall(r"[a-z]+", " ".join((*p.traits, p.speech_style, p.mood)).lower()))
    scores = {v: len(words & ws) for v, ws in VOICE_WORDS.items()}
    best = max(scores, key=lambda v: scores[v])
    return best if scores[best] else "plain"


def role_of(p: Persona) -> str:
    words = set(re.findall(r"[a-z]+", p.role.lower()))
    return next((k for k, keys in ROLE_KEYS.items() if words & set(keys)), "other")


def persona_grammar(p: Persona, topic: str = "") -> Grammar:
    """Every rule the persona speaks with: its voice, role words, mood asides, traits and facts."""
    rules: dict[str, list[str]] = {k: list(v) for k, v in VOICE_RULES[voice_of(p)].items()}
    rules.update(ROLE_WORDS[role_of(p)])
    mood = p.mood.lower() if p.mood.lower() in MOOD_ASIDES else "neutral"
    rules["aside"] = MOOD_ASIDES[mood]
    rules["name"] = [p.name]
    rules["role"] = [p.role or "local"]
    rules["trait"] = list(p.traits) or ["quiet"]
    rules["fact"] = [_sentence(f) for f in p.facts] or ["Nothing much happens around here."]
    rules["topic"] = [topic or "that"]
    for sit in SITUATIONS:                  # the voice's own lines, alone or coloured by an oath / the mood
        alts: list[str] = []
        for alt in rules[sit]:
            alts += [alt, alt]
            if sit in URGENT:
                alts += [] if "#oath" in alt else [f"#oath#! {alt}"]
            elif "#aside#" not in alt:
                alts += [f"{alt} #aside#", f"#aside# {alt}"]
        rules[sit] = alts
    rules.update({f"p_{k}": v for k, v in PLAYER_RULES.items()})
    return Grammar(rules)


def _sentence(fact: str) -> str:
    fact = fact.strip()
    return fact if fact[-1:] in ".!?" else fact + "."


# -- barks --------------------------------------------------------------------------------------

def make_barks(personas: Sequence[Persona], situations: Sequence[str], lines: int,
               rng: np.random.Generator) -> BarkSet:
    """``lines`` distinct barks per persona and situation where the grammar has that many."""
    barks: dict[str, dict[str, list[str]]] = {}
    for p in personas:
        g = persona_grammar(p)
        per: dict[str, list[str]] = {}
        for sit in situations:
            got: list[str] = []
            for _ in range(lines * 12):              # bounded: distinct lines first
                line = tidy(g.symbol(sit, rng))
                if line not in got:
                    got.append(line)
                if len(got) == lines:
                    break
            while len(got) < lines:                  # a small grammar: repeat rather than fail
                got.append(got[len(got) % max(1, len(got))])
            per[sit] = got
        barks[p.id] = per
    return BarkSet([Speaker(p.id, p.name, p.role) for p in personas], list(situations), barks)


# -- trees --------------------------------------------------------------------------------------

@dataclass
class _Ctx:
    persona: Persona
    grammar: Grammar
    rng: np.random.Generator
    depth: int
    branches: int
    knows: str
    facts: list[str]
    nodes: list[Node]
    intents: dict = field(default_factory=dict)   # node id -> [(grammar symbol, fact)] its line said
    said: list = field(default_factory=list)


def _mark(ctx: _Ctx, node_id: str) -> None:
    """Record what the lines said since the last mark as ``node_id``'s intent (model-written trees
    re-say it in the persona's voice: :mod:`.llm`)."""
    ctx.intents.setdefault(node_id, []).extend(ctx.said)
    ctx.said.clear()


def topic_var(topic: str) -> str:
    words = re.findall(r"[a-z0-9]+", topic.lower())
    words = [w for w in words if w not in ("the", "a", "an", "of", "about")] or ["topic"]
    name = "knows_" + "_".join(words)[:40].rstrip("_")
    return name if re.match(r"^[A-Za-z_]", name) else "knows_topic"


def _relevant_facts(p: Persona, topic: str) -> list[str]:
    """Facts sharing a word (4+ letters) with the topic first, then the rest; secrets never."""
    def stems(text):
        return {w.rstrip("s") for w in re.findall(r"[a-z]{4,}", text.lower())}

    t = stems(topic)
    ranked = sorted(range(len(p.facts)), key=lambda i: (-len(stems(p.facts[i]) & t), i))
    return [_sentence(p.facts[i]) for i in ranked]


def _tags(p: Persona, emotion: str | None = None, action: str | None = None) -> tuple[str, ...]:
    tags = []
    if emotion and emotion in p.emotions:
        tags.append(f"emotion_{emotion}")
    if action and action in p.actions:
        tags.append(f"action_{action}")
    return tuple(tags)


def _say(ctx: _Ctx, symbol: str, fact: str | None = None) -> str:
    g = ctx.grammar
    ctx.said.append((symbol, fact))
    if fact is not None:
        g.rules.setdefault("fact", []).append([fact])
    try:
        return tidy(g.symbol(symbol, ctx.rng))
    finally:
        if fact is not None:
            g.rules["fact"].pop()


def _fact(ctx: _Ctx, told: tuple[str, ...]) -> str:
    """The most topic-relevant fact not yet told on this path (now and then another untold one)."""
    fresh = [f for f in ctx.facts if f not in told] or ctx.facts
    return fresh[0] if ctx.rng.random() < 0.7 else fresh[int(ctx.rng.integers(len(fresh)))]


def make_tree(p: Persona, topic: str, depth: int, branches: int, rng: np.random.Generator,
              intents: dict | None = None) -> DialogTree:
    """A branching conversation about ``topic`` with ``depth`` levels of NPC lines.

    Each inner node offers ``branches`` approaches (ask/press, charm, force or bribe), a way out
    (the shared ``Farewell`` end node) and, from the second level on, a choice shown only when
    ``$trust >= 1`` leading to ``Confide``; the start offers ``Followup`` only when
    ``$knows_<topic>`` is already true (a later visit: Yarn keeps variables between runs). Charm raises ``$trust``; nodes that reveal a topic fact
    set ``$knows_<topic>``; threats set ``$angered``. Leaves end the conversation.

    ``intents`` (a dict), when given, receives each node's intent: the grammar symbols (and facts)
    its line was built from, e.g. ``[("reveal", "The wagon is late."), ("farewell_line", None)]``.
    """
    g = persona_grammar(p, topic)
    knows = topic_var(topic)
    ctx = _Ctx(p, g, rng, depth, branches, knows, _relevant_facts(p, topic), [],
               intents if intents is not None else {})
    variables = [Variable("trust", "number", 0), Variable(knows, "bool", False), Variable("angered", "bool", False)]
    start = Node("Start", p.id, tidy(f"{_say(ctx, 'open')} {_say(ctx, 'hook')}"), tags=_tags(p, "neutral"))
    ctx.nodes.append(start)
    _mark(ctx, "Start")
    if depth == 1:
        start.end = True
        start.line = tidy(f"{start.line} {_say(ctx, 'farewell_line')}")
        _mark(ctx, "Start")
    else:
        ctx.nodes.append(Node("Farewell", p.id, _say(ctx, "farewell_line"), end=True))
        _mark(ctx, "Farewell")
        if depth >= 3 and ctx.facts:     # a card with no facts has nothing to confide
            ctx.nodes.append(Node("Confide", p.id, _say(ctx, "confide", ctx.facts[0]), end=True,
                                  effects=(Effect(knows, "set", True),), tags=_tags(p, "happy", "give_item")))
            _mark(ctx, "Confide")
        start.choices = _choices(ctx, (), 1, ())
        if ctx.facts:                    # a later visit: Yarn variables outlive the conversation
            fact = ctx.facts[min(1, len(ctx.facts) - 1)]
            ctx.nodes.append(Node("Followup", p.id, tidy(f"{_say(ctx, 'reveal', fact)} {_say(ctx, 'farewell_line')}"),
                                  end=True, tags=_tags(p, "neutral")))
            _mark(ctx, "Followup")
            start.choices.insert(-1, Choice(tidy(g.symbol("p_followup", rng)), "Followup",
                                            conditions=(Condition(knows, "==", True),)))
    tree = DialogTree(title=f"{p.name}: {topic}" if topic else p.name, topic=topic, start="Start",
                      speakers=[Speaker(p.id, p.name, p.role)], variables=variables, nodes=ctx.nodes)
    check_tree(tree, max_depth=depth)
    return tree


APPROACHES = ("ask", "charm", "force")


def _choices(ctx: _Ctx, path: tuple[str, ...], level: int, told: tuple[str, ...]) -> list[Choice]:
    g, rng, p = ctx.grammar, ctx.rng, ctx.persona
    out: list[Choice] = []
    for approach in APPROACHES[:ctx.branches]:
        sub = path + (approach,)
        if approach == "ask":
            text = g.symbol("p_ask" if not path else "p_press", rng)
            effects: tuple[Effect, ...] = ()
        elif approach == "charm":
            text = g.symbol("p_charm", rng)
            effects = (Effect("trust", "add", 1),)
        elif "trade" in p.actions:
            text = g.symbol("p_bribe", rng)
            effects = ()
        else:
            text = g.symbol("p_force", rng)
            effects = (Effect("angered", "set", True),)
        out.append(Choice(tidy(text), _node(ctx, sub, level + 1, told), effects=effects))
    if level >= 2 and ctx.depth >= 3 and ctx.facts:
        out.append(Choice(tidy(g.symbol("p_friend", rng)), "Confide",
                          conditions=(Condition("trust", ">=", 1),)))
    out.append(Choice(tidy(g.symbol("p_leave", rng)), "Farewell"))
    return out


def _node(ctx: _Ctx, path: tuple[str, ...], level: int, told: tuple[str, ...]) -> str:
    p = ctx.persona
    node_id = "_".join(a.capitalize() for a in path)
    last = path[-1]
    forced = last == "force" and "trade" not in p.actions
    bribed = last == "force" and "trade" in p.actions
    node = Node(node_id, p.id, "")
    ctx.nodes.append(node)

    def reveal() -> str:
        fact = _fact(ctx, told)
        node.effects = (Effect(ctx.knows, "set", True),)
        node.tags = _tags(p, "neutral", "trade" if bribed else None)
        return fact

    if level == ctx.depth:                                    # a leaf: the conversation ends
        node.end = True
        if forced:                                            # threats never pay
            angry = ctx.rng.random() < 0.5
            node.line = _say(ctx, "angry_end" if angry else "refuse")
            node.tags = _tags(p, "angry", "attack") if angry else _tags(p, "suspicious")
        elif not ctx.facts or ("charm" not in path and not bribed and ctx.rng.random() < 0.4):
            node.line = _say(ctx, "refuse")
            node.tags = _tags(p, "suspicious")
        else:
            fact = reveal()
            node.line = tidy(f"{_say(ctx, 'reveal', fact)} {_say(ctx, 'farewell_line')}")
        _mark(ctx, node_id)
        return node_id
    if forced:
        node.line = _say(ctx, "bristle")
        node.tags = _tags(p, "angry")
    elif last == "charm":
        node.line = _say(ctx, "warm")
        node.tags = _tags(p, "happy")
    elif ctx.facts and (bribed or ctx.rng.random() < 0.6):
        fact = reveal()
        node.line = _say(ctx, "reveal", fact)
        told = told + (fact,)
    else:
        node.line = _say(ctx, "deflect")
        node.tags = _tags(p, "suspicious")
    _mark(ctx, node_id)
    node.choices = _choices(ctx, path, level, told)
    return node_id
