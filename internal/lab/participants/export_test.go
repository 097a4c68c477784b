package participants

// TreeCPUTicks lets the external meeting CPU test measure the browser.
var TreeCPUTicks = treeCPUTicks
