// Forms whose action cannot be undone ask first: <form data-confirm="Move this order?">.
"use strict";
document.addEventListener("submit", (event) => {
  const question = event.target.dataset && event.target.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
}, true);
