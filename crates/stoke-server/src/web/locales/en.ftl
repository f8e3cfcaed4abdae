# The dashboard's words in English. Every message here must exist in ar.ftl and ru.ftl too
# (a unit test compares the three).

app-name = Stoke
nav-today = Today
nav-inbox = Inbox
nav-segments = Segments
nav-broadcasts = Broadcasts
nav-logout = Log out
nav-language = Language
nav-signed-in = Signed in as { $name } ({ $role })
role-admin = admin
role-manager = manager
role-agent = agent

login-title = Log in to Stoke
login-email = E-mail
login-password = Password
login-submit = Log in
login-wrong = The e-mail or the password is wrong.
login-throttled = Too many attempts. Try again in { $seconds } seconds.
login-missing = Give the e-mail you log in with.

today-title = Today
today-count = { $count ->
    [0] Nothing is due
    [one] One contact to reach
   *[other] { $n } contacts to reach
}
today-empty = Your queue is empty: every customer has been answered.
today-due = Due
today-overdue = Overdue
today-why = Why
today-open = Open conversation
today-for = Queue of
today-show = Show
today-local = their time

inbox-title = Inbox
inbox-search = Search every conversation
inbox-account = Account
inbox-tag = Tag
inbox-tier = Activity
inbox-assignee = Assignee
inbox-any = Any
inbox-unassigned = Unassigned
inbox-filter = Filter
inbox-empty = No conversation matches.
inbox-older = Older conversations
inbox-you = You:
inbox-results = { $count ->
    [0] No message holds these words
    [one] One message holds these words
   *[other] { $n } messages hold these words
}
inbox-contacts-found = Contacts

conv-reply = Reply
conv-send = Send
conv-through = through
conv-queued = Your reply is queued and goes out through { $account }.
conv-empty-reply = Write a reply first.
conv-too-long = A reply holds at most { $max } characters.
conv-no-account = This workspace has no account to reply through.
conv-card = Contact card
conv-no-messages = No messages yet.
status-queued = queued
status-sent = sent
status-delivered = delivered
status-read = read
status-failed = failed
status-received = received

card-profile = Profile
card-phones = Phones
card-emails = E-mails
card-language = Language
card-timezone = Time zone
card-country = Country
card-owner = Owner
card-nobody = nobody
card-preferences = Preferences
card-consent = Consent
card-orders = Orders
card-notes = Notes
card-add-note = Add a note
card-note-saved = The note is saved.
card-note-empty = Write the note first.
card-tasks = Tasks
card-done = done
card-tags = Tags
card-rule = Rule
card-evidence = Why
card-history = Changes
card-set = set
card-removed = removed
card-none = None yet.
card-message = Message
card-lead-score = Lead score

family-activity = Activity
family-intent = Purchase intent
family-interest = Interest
family-preference = Preference
family-lifecycle = Lifecycle
family-sentiment = Sentiment
family-temperature = Lead temperature
family-stage = Pipeline stage
family-static = Label

seg-title = Segments
seg-distribution = Contacts by tag
seg-warnings = Weekly health check
seg-healthy = The base is healthy: enough customers are highly active.
seg-low-high = Only { $share }% of contacts are highly active (replied within 24 h), under { $min }%: strengthen acquisition and reactivation.
seg-expression = Segment expression
seg-hint = For example: intent:high and interest:discount and active_within:7d and not opted_out
seg-count = { $count } of { $of } contacts
seg-matching = Matching contacts
seg-invalid = This expression cannot be read: { $problem }
seg-admins = Segments span the whole workspace: ask an admin.

bc-title = Broadcasts
bc-new = New broadcast
bc-name = Name
bc-audience = Audience (a segment expression)
bc-template = Template
bc-account = Account
bc-start = Start sending now
bc-create = Create
bc-created = The broadcast is created.
bc-status = Status
bc-recipients = Recipients
bc-progress = Progress
bc-none = No broadcast yet.
bc-pause = Pause
bc-resume = Resume
bc-cancel = Cancel
count-queued = Queued
count-sent = Sent
count-delivered = Delivered
count-read = Read
count-failed = Failed
count-skipped = Skipped

error-title = Something is wrong
error-not-found = There is nothing here, or it is not yours to see.
error-forbidden = This page is for admins.
error-back = Back to today

action-quote = Send a quote
action-follow-up = Follow up
action-content = Send something useful
action-greeting = Greet
action-broadcast-only = Broadcasts only
action-none = Nothing
tier-high = Highly active
tier-medium = Active
tier-low = Cooling
tier-dormant = Dormant
pref-channel = Channel
pref-window = Best time
pref-format = Format
pref-max-per-week = At most per week
bcs-draft = Draft
bcs-running = Sending
bcs-paused = Paused
bcs-completed = Completed
bcs-cancelled = Cancelled
